"""Alembic environment: runs on the connection handed over by ``Database.migrate``."""

from alembic import context

from vms.assembly.schema import load_all_models
from vms.db.base import Base

# All tables, so that `alembic revision --autogenerate` sees them; the migrations themselves name no models.
load_all_models()

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
