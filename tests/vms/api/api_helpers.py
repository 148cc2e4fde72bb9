"""Helpers for API tests: a password that passes the rules and session tokens without password checks."""

from __future__ import annotations

from datetime import timedelta

from vms.auth.tokens import new_session_token, token_hash
from vms.context import CoreServices
from vms.db import utcnow
from vms.db.models import AuthSession, User

PASSWORD = "correct-horse-9"


def issue_token(core: CoreServices, username: str) -> str:
    """A fresh session token for ``username`` (without the cost of a password check)."""
    token = new_session_token()
    with core.db.session() as s:
        user = s.query(User).filter_by(username=username).one()
        now = utcnow()
        s.add(
            AuthSession(
                token_hash=token_hash(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + timedelta(hours=1),
                client="test",
            )
        )
    return token
