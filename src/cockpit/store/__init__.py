"""Persistence: SQLAlchemy models, one query module per table, Alembic migrations."""
