"""Logins, sessions and API keys against the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from vms.auth.passwords import check_password_rules, hash_password, needs_rehash, verify_password
from vms.auth.principal import Principal
from vms.auth.tokens import new_api_key, new_session_token, split_api_key, token_hash
from vms.db import Database, utcnow
from vms.db.models import ApiKey, AuthSession, Role, User


class AuthError(Exception):
    """Credentials were wrong, expired or revoked."""


@dataclass(frozen=True)
class LoginResult:
    token: str
    principal: Principal
    expires_in: timedelta


class AuthService:
    def __init__(self, db: Database, session_ttl: timedelta) -> None:
        self._db = db
        self._ttl = session_ttl

    def login(self, username: str, password: str, client: str = "") -> LoginResult:
        with self._db.session() as s:
            user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
            if not verify_password(user.password_hash if user else None, password) or user is None:
                raise AuthError("wrong username or password")
            if not user.active:
                raise AuthError("this account is disabled")
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            token = new_session_token()
            now = utcnow()
            row = AuthSession(
                token_hash=token_hash(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + self._ttl,
                client=client[:100],
            )
            s.add(row)
            s.execute(delete(AuthSession).where(AuthSession.expires_at < now))
            s.flush()
            return LoginResult(
                token, Principal("user", user.username, user.role, user.id, session_id=row.id), self._ttl
            )

    def principal_for_token(self, token: str) -> Principal | None:
        with self._db.sessions() as s:
            row = s.execute(
                select(AuthSession, User)
                .join(User, AuthSession.user_id == User.id)
                .where(AuthSession.token_hash == token_hash(token))
            ).one_or_none()
            if row is None:
                return None
            sess, user = row
            if sess.expires_at < utcnow() or not user.active:
                return None
            return Principal("user", user.username, user.role, user.id, session_id=sess.id)

    def principal_for_api_key(self, key: str) -> Principal | None:
        parts = split_api_key(key)
        if parts is None:
            return None
        prefix, secret = parts
        with self._db.session() as s:
            row = s.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
            if row is None or row.revoked_at is not None or row.secret_hash != token_hash(secret):
                return None
            row.last_used_at = utcnow()
            return Principal("api_key", row.name, row.role, row.id)

    def logout(self, session_id: int) -> None:
        with self._db.session() as s:
            s.execute(delete(AuthSession).where(AuthSession.id == session_id))

    def end_sessions_of(self, user_id: int) -> None:
        with self._db.session() as s:
            s.execute(delete(AuthSession).where(AuthSession.user_id == user_id))

    def create_user(self, username: str, password: str, role: Role, display_name: str = "") -> User:
        check_password_rules(password)
        with self._db.session() as s:
            user = User(
                username=username, password_hash=hash_password(password), role=role, display_name=display_name
            )
            s.add(user)
        return user

    def set_password(self, username: str, password: str) -> User:
        check_password_rules(password)
        with self._db.session() as s:
            user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
            if user is None:
                raise LookupError(f"no user named {username!r}")
            user.password_hash = hash_password(password)
            user.password_changed_at = utcnow()
            s.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
        return user

    def create_api_key(self, name: str, role: Role, created_by: str) -> tuple[ApiKey, str]:
        key, prefix, secret_hash = new_api_key()
        with self._db.session() as s:
            row = ApiKey(name=name, prefix=prefix, secret_hash=secret_hash, role=role, created_by=created_by)
            s.add(row)
        return row, key
