"""One Alembic tree per plane: global, regional (run once per region), control."""
