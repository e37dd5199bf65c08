"""Images for sandboxes: who owns them, what they are called on the engine, how they are built and loaded."""
