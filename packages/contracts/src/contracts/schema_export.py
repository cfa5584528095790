"""JSON Schema of every contract and of the envelope: ``python -m contracts.schema_export --out DIR``.

The files under ``packages/contracts/schemas/`` are the published contracts, one per message type and
major version (``<message_type>.v<major>.json``); the compatibility test compares the code with them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from contracts.envelope import ENVELOPE_SCHEMA_VERSION, Envelope
from contracts.registry import REGISTRY, Contract, ContractRegistry, parse_version
from contracts.types import JsonObject

ENVELOPE = "envelope"
PUBLISHED_DIR = Path(__file__).resolve().parents[2] / "schemas"


def schema_key(message_type: str, schema_version: str) -> str:
    """``"<message_type>@<major>"``, the identity of a contract across its minor versions."""
    return f"{message_type}@{parse_version(schema_version)[0]}"


def contract_schema(model: type[Contract]) -> JsonObject:
    """The model's JSON Schema, tagged with the message type and full version it describes."""
    return {
        **model.model_json_schema(),
        "x-message-type": model.message_type,
        "x-schema-version": model.schema_version,
    }


def contract_schemas(registry: ContractRegistry = REGISTRY) -> dict[str, JsonObject]:
    """``{"<message_type>@<major>": schema}`` for the envelope and every registered contract."""
    schemas = {
        schema_key(ENVELOPE, ENVELOPE_SCHEMA_VERSION): {
            **Envelope.model_json_schema(),
            "x-schema-version": ENVELOPE_SCHEMA_VERSION,
        }
    }
    schemas.update({schema_key(m.message_type, m.schema_version): contract_schema(m) for m in registry.models()})
    return schemas


def file_name(key: str) -> str:
    """``stock.availability.changed@1`` -> ``stock.availability.changed.v1.json``."""
    message_type, major = key.rsplit("@", 1)
    return f"{message_type}.v{major}.json"


def render(schema: JsonObject) -> str:
    """The file text of a schema: stable, readable, ending in a newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(out: Path, schemas: dict[str, JsonObject]) -> list[Path]:
    """Write one file per schema into ``out`` (created if needed); files of other contracts stay."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key, schema in schemas.items():
        path = out / file_name(key)
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def load_schemas(folder: Path) -> dict[str, JsonObject]:
    """Read a folder of exported schemas back into ``{"<message_type>@<major>": schema}``."""
    schemas: dict[str, JsonObject] = {}
    for path in sorted(folder.glob("*.v*.json")):
        message_type, major = path.name.removesuffix(".json").rsplit(".v", 1)
        schemas[f"{message_type}@{major}"] = json.loads(path.read_text(encoding="utf-8"))
    return schemas


def main(argv: list[str] | None = None) -> int:
    """Command line entry: write the current schemas to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m contracts.schema_export", description=__doc__)
    parser.add_argument("--out", type=Path, default=PUBLISHED_DIR, help=f"target folder (default {PUBLISHED_DIR})")
    args = parser.parse_args(argv)
    written = write_schemas(args.out, contract_schemas())
    sys.stdout.write(f"wrote {len(written)} schemas to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
