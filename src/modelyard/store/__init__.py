"""What is known: the database (SQLAlchemy + Alembic) and the content-addressed artifacts."""
