"""SQLModel tables, database lifecycle, migrations, repositories and privacy primitives (only SQL lives here)."""
