"""Alembic environment: runs on the connection mailfeed hands it (see db.upgrade_schema)."""

import importlib
import pkgutil

from alembic import context
from sqlmodel import SQLModel

import gateway.store

# Register every table: store/models.py and the per-area store/models_*.py.
for module in pkgutil.iter_modules(gateway.store.__path__):
    if module.name == "models" or module.name.startswith("models_"):
        importlib.import_module(f"gateway.store.{module.name}")

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    from sqlalchemy import create_engine

    connection = create_engine(config.get_main_option("sqlalchemy.url")).connect()

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
