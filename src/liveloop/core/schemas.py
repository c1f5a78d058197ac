"""Shared API schema pieces: the strict input base, the error body and its documented codes."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


#: Every route may answer these; declared so the OpenAPI document is honest.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("Malformed request (e.g. unparseable JSON)"),
    401: _doc("Missing or invalid credentials"),
    403: _doc("The credential's role may not do this"),
    404: _doc("No such resource in this shop"),
    409: _doc("Conflicts with the resource's current state"),
    413: _doc("Body larger than the limit"),
    422: _doc("Invalid input"),
}


def _patch_schema(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """Publish patch fields as omittable, not nullable, unless the field may really be empty."""
    nullable: frozenset[str] = getattr(cls, "nullable_fields", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in nullable or "anyOf" not in prop:
            continue
        rest = [option for option in prop["anyOf"] if option.get("type") != "null"]
        prop.pop("default", None)
        if len(rest) == 1:
            del prop["anyOf"]
            prop.update(rest[0])
        else:
            prop["anyOf"] = rest


class PatchModel(StrictModel):
    """Partial updates: only sent fields change; ``null`` only where a field may be empty."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_patch_schema)
    nullable_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Self:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.nullable_fields:
                raise ValueError(f"{name} cannot be null")
        return self
