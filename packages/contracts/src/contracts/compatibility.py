"""Compatibility of a contract's JSON Schema with its published version, within one major version.

A reader built on the published schema must read what the current producer sends, and a reader
built on the current schema must read published-era messages (replays). So within a major:

- allowed: a new optional field, documentation changes, a new contract;
- breaking: a field removed or renamed, a field whose type or constraints changed (widening an enum
  or a length breaks older readers as surely as narrowing breaks replays), a field that became
  required, a new required field.

``additionalProperties`` is not compared: readers ignore fields of a newer minor (see ``registry``).
"""

from __future__ import annotations

import json
from typing import Any

from contracts.registry import parse_version
from contracts.types import JsonObject

_DOCUMENTATION = frozenset({"title", "description", "examples", "$comment"})
# A default matters to no reader on the wire (producers always send every field), but it is a change
# of meaning, so it needs a minor bump without being breaking.
_NOT_SHAPE = _DOCUMENTATION | {"default"}
_STRUCTURE = frozenset({"properties", "required", "items", "anyOf", "oneOf", "additionalProperties", "$defs"})
_DESCRIBED_CHARS = 120


def breaking_changes(published: JsonObject, current: JsonObject) -> list[str]:
    """Every change from ``published`` to ``current`` that breaks a reader of the same major version."""
    problems: list[str] = []
    old = _inline_refs(published, published.get("$defs", {}))
    new = _inline_refs(current, current.get("$defs", {}))
    _compare(old, new, "", problems)
    return problems


def missing_version_bump(published: JsonObject, current: JsonObject) -> list[str]:
    """A schema that changed beyond documentation must carry a higher minor version than the published one."""
    old_version, new_version = published.get("x-schema-version", "0.0"), current.get("x-schema-version", "0.0")
    if parse_version(new_version) < parse_version(old_version):
        return [f"schema version went back from {old_version} to {new_version}"]
    if new_version == old_version and _without_documentation(published) != _without_documentation(current):
        return [f"schema changed but its version is still {new_version}: bump the minor"]
    return []


def _compare(old: JsonObject, new: JsonObject, path: str, problems: list[str]) -> None:
    label = path or "<root>"
    old_branches, new_branches = _branches(old), _branches(new)
    if old_branches or new_branches:
        if len(old_branches) != len(new_branches):
            problems.append(f"{label}: type changed from {_describe(old)} to {_describe(new)}")
            return
        for old_branch, new_branch in zip(old_branches, new_branches, strict=True):
            _compare(old_branch, new_branch, path, problems)
        return
    if _shape(old) != _shape(new):
        problems.append(f"{label}: type changed from {_describe(old)} to {_describe(new)}")
        return
    if "items" in old or "items" in new:
        _compare(old.get("items", {}), new.get("items", {}), f"{path}[]", problems)
    old_fields: JsonObject = old.get("properties", {})
    new_fields: JsonObject = new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name, old_field in old_fields.items():
        field_path = f"{path}.{name}" if path else name
        if name not in new_fields:
            problems.append(f"{field_path}: field removed (or renamed)")
            continue
        if name in new_required and name not in old_required:
            problems.append(f"{field_path}: became required")
        _compare(old_field, new_fields[name], field_path, problems)
    for name in new_fields:
        if name not in old_fields and name in new_required:
            problems.append(f"{f'{path}.{name}' if path else name}: new required field")


def _inline_refs(schema: Any, definitions: JsonObject, seen: tuple[str, ...] = ()) -> Any:
    """The schema with every local ``$ref`` replaced by its definition, so paths compare structurally."""
    if isinstance(schema, list):
        return [_inline_refs(item, definitions, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        if name in seen:
            raise ValueError(f"recursive schema through {name!r} is not supported")
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        return _inline_refs({**definitions[name], **siblings}, definitions, (*seen, name))
    return {key: _inline_refs(value, definitions, seen) for key, value in schema.items() if key != "$defs"}


def _branches(schema: JsonObject) -> list[JsonObject]:
    return list(schema.get("anyOf") or schema.get("oneOf") or [])


def _shape(schema: JsonObject) -> JsonObject:
    """The keywords that constrain a value here (type, enum, format, bounds), not its children or docs."""
    return {
        key: value
        for key, value in schema.items()
        if key not in _NOT_SHAPE and key not in _STRUCTURE and not key.startswith("x-")
    }


def _without_documentation(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_without_documentation(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        # "properties" and "$defs" map names to schemas: a field called "description" is not documentation
        key: {name: _without_documentation(sub) for name, sub in value.items()}
        if key in ("properties", "$defs")
        else _without_documentation(value)
        for key, value in schema.items()
        if key not in _DOCUMENTATION
    }


def _describe(schema: JsonObject) -> str:
    text = json.dumps(_without_documentation(schema), sort_keys=True)
    return text if len(text) <= _DESCRIBED_CHARS else text[: _DESCRIBED_CHARS - 3] + "..."
