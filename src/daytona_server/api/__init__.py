"""The REST API under /api: routes, schemas, authentication and the error shape."""
