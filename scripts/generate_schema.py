"""Write schemas/outbound-message.schema.json from the contract model (`make schema`)."""

from __future__ import annotations

import json
from pathlib import Path

from wacloud.outbound.contract import schema

TARGET = Path(__file__).resolve().parents[1] / "schemas" / "outbound-message.schema.json"


def render() -> str:
    # Characters as themselves, not \u escapes: YAML loaders (OpenAPI tools following the $ref from
    # openapi.yaml) refuse JSON's surrogate-pair escapes such as "\ud83d\udc4d".
    return json.dumps(schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(TARGET.parents[1])}")
