"""Alembic migrations of the backend's schema; `arkor.server.db.Database.migrate()` runs them at startup."""
