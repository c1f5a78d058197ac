"""Stable error codes of the shops domain (tenants, staff, credentials)."""

from __future__ import annotations

from liveloop.core.errors import Conflict, Forbidden, NotFound, Unauthenticated


class MissingCredentials(Unauthenticated):
    code = "auth.missing_credentials"


class InvalidApiKey(Unauthenticated):
    code = "auth.invalid_api_key"


class InvalidViewerToken(Unauthenticated):
    code = "auth.invalid_viewer_token"


class ExpiredViewerToken(Unauthenticated):
    code = "auth.expired_viewer_token"


class PermissionDenied(Forbidden):
    code = "auth.permission_denied"


class StaffNotFound(NotFound):
    code = "shops.staff_not_found"


class ApiKeyNotFound(NotFound):
    code = "shops.api_key_not_found"


class LastOwner(Conflict):
    code = "shops.last_owner"
