"""Database: SQLAlchemy models and Alembic migrations (SQLite file by default, PostgreSQL by URL)."""
