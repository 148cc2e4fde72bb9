"""Database: typed SQLAlchemy 2 models, the engine and sessions, Alembic migrations applied at start."""

from vms.db.base import Base, UTCDateTime, utcnow
from vms.db.engine import Database

__all__ = ["Base", "Database", "UTCDateTime", "utcnow"]
