"""The `daytona` command-line tool."""
