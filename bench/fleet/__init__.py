"""bench/fleet: a fleet of idle sandboxes on one machine (run `python bench/fleet`; see __main__.py)."""
