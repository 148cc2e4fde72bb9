"""User accounts and API keys as administrators manage them (hashing and sign-in live in ``vms.auth``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vms.auth.passwords import WeakPasswordError, check_password_rules
from vms.db import utcnow
from vms.db.models import ApiKey, Role, User
from vms.yard.changes import diff
from vms.yard.errors import Conflict, Invalid, NotFound
from vms.yard.fields import Name
from vms.yard.service import YardService

LoginName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\s:/\\]{1,100}$")]
KeyName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\s:/\\]{1,100}$")]
Password = Annotated[str, Field(min_length=1, max_length=1000)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: LoginName = Field(description="login name, 1-100 characters without spaces, : / or \\")
    password: Password
    role: Role
    display_name: Name = ""
    language: str | None = Field(None, pattern=r"^(zh|en)$")


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    active: bool | None = None
    display_name: Name | None = None
    language: str | None = Field(None, pattern=r"^(zh|en)$")


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password


class UserView(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    language: str | None
    created_at: datetime
    password_changed_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: KeyName = Field(description="which system uses the key, e.g. inspection-system")
    role: Role = Role.INTEGRATION


class ApiKeyView(BaseModel):
    id: int
    name: str
    prefix: str
    role: Role
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyView):
    key: str = Field(description="the key itself; shown only now, store it safely")


def _user_view(u: User) -> UserView:
    return UserView.model_validate(u, from_attributes=True)


def _checked_password(password: str) -> str:
    try:
        check_password_rules(password)
    except WeakPasswordError as exc:
        raise Invalid("password", str(exc)) from None
    return password


class UserService(YardService):
    def list_all(self) -> list[UserView]:
        with self.core.db.sessions() as s:
            return [_user_view(u) for u in s.execute(select(User).order_by(User.username)).scalars()]

    def get(self, user_id: int) -> UserView:
        with self.core.db.sessions() as s:
            return _user_view(_user(s, user_id))

    def id_of(self, username: str) -> int:
        with self.core.db.sessions() as s:
            user_id = s.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            raise NotFound(f"user {username}")
        return user_id

    def create(self, fields: UserCreate) -> UserView:
        _checked_password(fields.password)
        with self.core.db.sessions() as s:
            if s.scalar(select(User.id).where(User.username == fields.username)) is not None:
                raise Conflict(f"a user named {fields.username} already exists")
        try:
            user = self.core.auth.create_user(
                fields.username, fields.password, fields.role, fields.display_name
            )
        except IntegrityError:
            raise Conflict(f"a user named {fields.username} already exists") from None
        if fields.language is not None:
            self._set(user.id, {"language": fields.language})
        detail = fields.model_dump(exclude={"password"})
        self.audit("user.create", "user", fields.username, {"fields": detail})
        return self.get(user.id)

    def update(self, user_id: int, patch: UserPatch) -> UserView:
        values = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None}
        changes, username = self._set(user_id, values)
        if changes.get("active") == [True, False]:
            self.core.auth.end_sessions_of(user_id)
        if changes:
            self.audit("user.update", "user", username, {"changes": changes})
        return self.get(user_id)

    def reset_password(self, user_id: int, password: str) -> None:
        _checked_password(password)
        username = self.get(user_id).username
        self.core.auth.set_password(username, password)
        self.audit("user.password_reset", "user", username, {})

    def _set(self, user_id: int, values: dict[str, Any]) -> tuple[dict[str, list[Any]], str]:
        with self.core.db.session() as s:
            user = _user(s, user_id)
            before = {key: getattr(user, key) for key in values}
            for key, value in values.items():
                setattr(user, key, value)
            if before.get("role") == Role.ADMIN or before.get("active") is True:
                _keep_an_admin(s, user)
            return diff(before, values), user.username


def _keep_an_admin(s: Session, changed: User) -> None:
    s.flush()
    admins = s.scalar(select(func.count()).where(User.role == Role.ADMIN, User.active.is_(True))) or 0
    if admins == 0:
        raise Conflict(f"{changed.username} is the last active administrator; make another admin first")


def _user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id}")
    return user


class ApiKeyService(YardService):
    def list_all(self) -> list[ApiKeyView]:
        with self.core.db.sessions() as s:
            rows = s.execute(select(ApiKey).order_by(ApiKey.name)).scalars()
            return [ApiKeyView.model_validate(k, from_attributes=True) for k in rows]

    def create(self, fields: ApiKeyCreate) -> ApiKeyCreated:
        with self.core.db.sessions() as s:
            if s.scalar(select(ApiKey.id).where(ApiKey.name == fields.name)) is not None:
                raise Conflict(f"an API key named {fields.name} already exists (even revoked)")
        try:
            row, key = self.core.auth.create_api_key(fields.name, fields.role, self.actor.name)
        except IntegrityError:
            raise Conflict(f"an API key named {fields.name} already exists") from None
        detail = {"role": fields.role.value, "prefix": row.prefix}
        self.audit("api_key.create", "api_key", fields.name, detail)
        view = ApiKeyView.model_validate(row, from_attributes=True)
        return ApiKeyCreated(**view.model_dump(), key=key)

    def id_of(self, name: str) -> int:
        with self.core.db.sessions() as s:
            key_id = s.scalar(select(ApiKey.id).where(ApiKey.name == name))
        if key_id is None:
            raise NotFound(f"API key {name}")
        return key_id

    def revoke(self, key_id: int) -> ApiKeyView:
        with self.core.db.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise NotFound(f"API key {key_id}")
            newly = row.revoked_at is None
            if newly:
                row.revoked_at = utcnow()
            view = ApiKeyView.model_validate(row, from_attributes=True)
        if newly:
            self.audit("api_key.revoke", "api_key", view.name, {"prefix": view.prefix})
        return view
