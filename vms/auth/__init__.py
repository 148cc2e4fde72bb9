"""Authentication and roles: local users with argon2 hashes, bearer/cookie sessions, API keys, permissions."""

from vms.auth.permissions import ROLE_PERMISSIONS, Permission, role_allows
from vms.auth.principal import Principal

__all__ = ["ROLE_PERMISSIONS", "Permission", "Principal", "role_allows"]
