"""Storage: SQLAlchemy tables, queries, Alembic migrations."""
