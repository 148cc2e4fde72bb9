"""Alembic environment: runs on the connection handed over by ``Database.migrate``."""

import importlib
import importlib.util

from alembic import context

from vms.db import models  # noqa: F401  (registers the core tables)
from vms.db.base import Base

# The parts' tables, so that `alembic revision --autogenerate` sees them; migrations name no models.
for _module in ("recorder.models", "evidence.models"):
    if importlib.util.find_spec(_module) is not None:
        importlib.import_module(_module)

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` command line for autogenerate: needs -x url=...
    from sqlalchemy import create_engine

    url = context.get_x_argument(as_dictionary=True)["url"]
    connection = create_engine(url).connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
