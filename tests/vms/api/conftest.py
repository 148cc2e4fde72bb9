"""An API client on the core (SQLite and PostgreSQL) and signed-in principals of every role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.vms.api.api_helpers import PASSWORD, issue_token
from vms.api.app import build_api
from vms.app import part_routers
from vms.context import CoreServices
from vms.db.models import Role


@pytest.fixture
def client(core: CoreServices) -> Iterator[TestClient]:
    with TestClient(build_api(core, extra_routers=part_routers())) as c:
        yield c


@pytest.fixture
def as_role(core: CoreServices) -> Callable[[Role], dict[str, str]]:
    """Headers signing in as a user of the role (created once per role, named after it)."""
    created: set[Role] = set()

    def headers(role: Role) -> dict[str, str]:
        if role not in created:
            core.auth.create_user(role.value, PASSWORD, role, f"{role.value} 用户")
            created.add(role)
        return {"Authorization": f"Bearer {issue_token(core, role.value)}"}

    return headers


@pytest.fixture
def admin(as_role: Callable[[Role], dict[str, str]]) -> dict[str, str]:
    return as_role(Role.ADMIN)
