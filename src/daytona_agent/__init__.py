"""The in-sandbox agent: a standard-library HTTP server on a unix socket, run as the container's PID 1.

It must run on any python3 >= 3.9 found in a sandbox image, so it uses the standard library only.
"""

__version__ = "0.1.0"
