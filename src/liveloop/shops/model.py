"""Who may do what: the role -> permission matrix (pure rules, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from liveloop.shops.contracts import Permission, Role

_STAFF_READ = frozenset({Permission.CATALOG_READ, Permission.ROOMS_READ, Permission.SHOWS_READ})

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.OWNER: frozenset(Permission),
        Role.OPERATOR: _STAFF_READ
        | {
            Permission.CATALOG_WRITE,
            Permission.ROOMS_WRITE,
            Permission.SHOWS_WRITE,
            Permission.SHOWS_CONTROL,
            Permission.VIEWER_TOKENS_ISSUE,
            Permission.MODERATE,
            Permission.ANALYTICS_READ,
            Permission.ALERTS_MANAGE,
        },
        Role.HOST: _STAFF_READ | {Permission.SHOWS_CONTROL, Permission.MODERATE, Permission.ANALYTICS_READ},
        Role.MODERATOR: _STAFF_READ | {Permission.MODERATE},
    }
)


def role_allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
