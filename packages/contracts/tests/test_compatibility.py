"""Published contracts stay readable: no breaking change within a major version.

First the comparison itself is proven on hand-built schemas (one test per kind of breaking change),
so the check cannot pass silently; then the code's schemas are compared with the published ones.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from contracts.compatibility import breaking_changes, missing_version_bump
from contracts.schema_export import PUBLISHED_DIR, contract_schemas, file_name, load_schemas, main, render

EXPORT_COMMAND = "uv run python -m contracts.schema_export --out packages/contracts/schemas"


def published_schema() -> dict[str, Any]:
    """A schema shaped like pydantic's: a nested model behind a $ref, an optional field, an enum."""
    return {
        "$defs": {
            "Line": {
                "type": "object",
                "title": "Line",
                "properties": {
                    "article_number": {"type": "string", "maxLength": 50},
                    "quantity": {"type": "integer", "minimum": 1},
                },
                "required": ["article_number", "quantity"],
                "additionalProperties": False,
            }
        },
        "type": "object",
        "properties": {
            "order_id": {"type": "string", "format": "uuid", "description": "Order id."},
            "status": {"type": "string", "enum": ["accepted", "shipped"]},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}},
        },
        "required": ["order_id", "status", "lines"],
        "additionalProperties": False,
        "x-schema-version": "1.0",
    }


def changed(edit: Any) -> dict[str, Any]:
    schema = copy.deepcopy(published_schema())
    edit(schema)
    return schema


def rename(schema: dict[str, Any], old: str, new: str) -> None:
    schema["properties"][new] = schema["properties"].pop(old)
    schema["required"] = [new if name == old else name for name in schema["required"]]


BREAKING = {
    "removed field": (lambda s: s["properties"].pop("note"), ["note: field removed (or renamed)"]),
    "renamed field": (
        lambda s: rename(s, "order_id", "id"),
        ["order_id: field removed (or renamed)", "id: new required field"],
    ),
    "type changed": (
        lambda s: s["properties"].update(order_id={"type": "integer"}),
        ['order_id: type changed from {"format": "uuid", "type": "string"} to {"type": "integer"}'],
    ),
    "enum widened": (
        lambda s: s["properties"]["status"].update(enum=["accepted", "shipped", "lost"]),
        ['status: type changed from {"enum": ["accepted", "shipped"], "type": "string"} '
         'to {"enum": ["accepted", "shipped", "lost"], "type": "string"}'],
    ),
    "optional field no longer nullable": (
        lambda s: s["properties"].update(note={"type": "string"}),
        ['note: type changed from {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null} '
         'to {"type": "string"}'],
    ),
    "became required": (lambda s: s["required"].append("note"), ["note: became required"]),
    "new required field": (
        lambda s: (s["properties"].update(currency={"type": "string"}), s["required"].append("currency")),
        ["currency: new required field"],
    ),
    "nested type changed behind a $ref": (
        lambda s: s["$defs"]["Line"]["properties"].update(quantity={"type": "number"}),
        ['lines[].quantity: type changed from {"minimum": 1, "type": "integer"} to {"type": "number"}'],
    ),
    "nested field removed": (
        lambda s: s["$defs"]["Line"]["properties"].pop("quantity"),
        ["lines[].quantity: field removed (or renamed)"],
    ),
    "nested constraint changed": (
        lambda s: s["$defs"]["Line"]["properties"]["article_number"].update(maxLength=40),
        ['lines[].article_number: type changed from {"maxLength": 50, "type": "string"} '
         'to {"maxLength": 40, "type": "string"}'],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("edit", "expected"), BREAKING.values(), ids=BREAKING.keys())
def test_breaking_change_is_reported(edit: Any, expected: list[str]) -> None:
    assert breaking_changes(published_schema(), changed(edit)) == expected


ALLOWED = {
    "unchanged": lambda s: None,
    "new optional field": lambda s: s["properties"].update(carrier={"anyOf": [{"type": "string"}, {"type": "null"}]}),
    "new optional nested field": lambda s: s["$defs"]["Line"]["properties"].update(lot={"type": "string"}),
    "documentation only": lambda s: s["properties"]["order_id"].update(description="The webshop's order id."),
    "required field became optional": lambda s: s["required"].remove("status"),
}


@pytest.mark.parametrize("edit", ALLOWED.values(), ids=ALLOWED.keys())
def test_compatible_change_is_not_reported(edit: Any) -> None:
    assert breaking_changes(published_schema(), changed(edit)) == []


def test_a_change_needs_a_minor_bump() -> None:
    added = changed(lambda s: s["properties"].update(carrier={"type": "string"}))
    assert missing_version_bump(published_schema(), added) == [
        "schema changed but its version is still 1.0: bump the minor"
    ]
    assert missing_version_bump(published_schema(), {**added, "x-schema-version": "1.1"}) == []


def test_documentation_needs_no_bump_and_versions_never_go_back() -> None:
    documented = changed(lambda s: s["properties"]["order_id"].update(description="Other words."))
    assert missing_version_bump(published_schema(), documented) == []
    older = {**published_schema(), "x-schema-version": "0.9"}
    assert missing_version_bump(published_schema(), older) == ["schema version went back from 1.0 to 0.9"]


def test_a_field_named_description_is_not_documentation() -> None:
    with_field = changed(lambda s: s["properties"].update(description={"type": "string"}))
    retyped = copy.deepcopy(with_field)
    retyped["properties"]["description"] = {"type": "integer"}
    assert missing_version_bump(with_field, retyped) != []


# The code against the published contracts.

PUBLISHED = load_schemas(PUBLISHED_DIR)
CURRENT = contract_schemas()


def test_published_contracts_exist() -> None:
    assert "envelope@1" in PUBLISHED
    assert "stock.availability.changed@1" in PUBLISHED


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_no_breaking_change_within_a_major(key: str) -> None:
    assert key in CURRENT, f"{key} is published but gone from the code: a major version is retired deliberately"
    assert breaking_changes(PUBLISHED[key], CURRENT[key]) == []
    assert missing_version_bump(PUBLISHED[key], CURRENT[key]) == []


@pytest.mark.parametrize("key", sorted(CURRENT))
def test_published_schemas_match_the_code(key: str) -> None:
    published = PUBLISHED_DIR / file_name(key)
    assert published.is_file(), f"{key} is not published yet: run {EXPORT_COMMAND}"
    assert published.read_text(encoding="utf-8") == render(CURRENT[key]), f"{key} changed: run {EXPORT_COMMAND}"


def test_export_command_writes_one_file_per_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(file_name(key) for key in CURRENT)
    assert load_schemas(tmp_path) == CURRENT
    assert f"wrote {len(CURRENT)} schemas" in capsys.readouterr().out
