"""The viewer's table: live-wall layouts saved per user."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vms.db.base import Base, UTCDateTime, utcnow

GRIDS = (1, 4, 9, 16, 25)


class ViewerLayout(Base):
    """One named live-wall layout of one user.

    ``tiles`` has at most ``grid`` entries, in reading order: ``null`` for an empty tile, else
    ``{"camera_id": int, "stream": "auto" | "main" | "sub"}`` ("auto": the sub stream if the camera has
    one).
    """

    __tablename__ = "viewer_layouts"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_viewer_layouts_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    grid: Mapped[int] = mapped_column(Integer)
    tiles: Mapped[list[dict[str, Any] | None]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
