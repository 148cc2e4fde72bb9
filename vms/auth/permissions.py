"""What each role may do. Routes declare one permission each; the role matrix test walks them all."""

from __future__ import annotations

import enum

from vms.db.models import Role


class Permission(enum.StrEnum):
    SITES_READ = "sites:read"
    SITES_WRITE = "sites:write"
    CAMERAS_READ = "cameras:read"
    CAMERAS_WRITE = "cameras:write"
    BATCHES_READ = "batches:read"
    BATCHES_WRITE = "batches:write"
    BATCHES_DISPUTE = "batches:dispute"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    API_KEYS_MANAGE = "api_keys:manage"
    AUDIT_READ = "audit:read"
    LIVE_VIEW = "live:view"
    REPLAY_VIEW = "replay:view"
    FOOTAGE_EXPORT = "footage:export"
    HOLDS_MANAGE = "holds:manage"
    EVIDENCE_UPLOAD = "evidence:upload"
    EVIDENCE_READ = "evidence:read"
    EVIDENCE_MANAGE = "evidence:manage"  # relink items, set body-cam clock offsets
    EVIDENCE_DELETE = "evidence:delete"  # delete expired, unheld items (admin only)
    ALERTS_READ = "alerts:read"
    SYSTEM_READ = "system:read"
    AUTHENTICATED = "authenticated"  # any signed-in principal (own profile, logout)


_P = Permission
_EVERYONE = {_P.AUTHENTICATED}
_YARD_READ = {_P.SITES_READ, _P.CAMERAS_READ, _P.BATCHES_READ, _P.ALERTS_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset(_EVERYONE | _YARD_READ | {_P.LIVE_VIEW, _P.SYSTEM_READ}),
    Role.MANAGER: frozenset(_EVERYONE | _YARD_READ | {_P.LIVE_VIEW, _P.REPLAY_VIEW, _P.EVIDENCE_READ}),
    Role.REVIEWER: frozenset(
        _EVERYONE
        | _YARD_READ
        | {
            _P.REPLAY_VIEW,
            _P.FOOTAGE_EXPORT,
            _P.HOLDS_MANAGE,
            _P.BATCHES_DISPUTE,
            _P.EVIDENCE_READ,
            _P.EVIDENCE_MANAGE,
        }
    ),
    # Inspectors see only their own batches: the batch and evidence routes narrow BATCHES_READ and
    # EVIDENCE_READ for them.
    Role.INSPECTOR: frozenset(
        _EVERYONE | {_P.SITES_READ, _P.BATCHES_READ, _P.EVIDENCE_UPLOAD, _P.EVIDENCE_READ}
    ),
    Role.AUDITOR: frozenset(_EVERYONE | {_P.AUDIT_READ, _P.USERS_READ}),
    Role.INTEGRATION: frozenset(_EVERYONE | {_P.SITES_READ, _P.BATCHES_READ, _P.BATCHES_WRITE}),
}


def role_allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
