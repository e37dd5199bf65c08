"""Volumes: named, owned, persistent storage mounted into sandboxes, outliving them.

`service` holds the rules (names, ownership, what a mount may ask for), `store` where the files live
(`VolumeStore`: a local directory today), `paths` the checks of names and paths, and `binds` how the
runtime mounts a volume's subpath without following a link a sandbox planted. Import the modules
themselves: `binds` is used by the Docker runtime, which `paths` imports, so this file stays empty.
"""
