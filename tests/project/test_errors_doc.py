"""docs/ERRORS.md shows the error table the sender uses."""

from __future__ import annotations

from pathlib import Path

from scripts.generate_errors_doc import DOC, render


def test_errors_doc_table_is_generated_from_the_code():
    text = DOC.read_text(encoding="utf-8")
    assert render(text) == text, (
        "docs/ERRORS.md is out of date with wacloud.outbound.error_policy: run `make errors-doc`"
    )
    assert Path(DOC).name == "ERRORS.md" and "| 131047 | fail |" in text
