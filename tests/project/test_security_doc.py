"""docs/SECURITY.md stays true: every test it names exists, and every check the IaC scan skips is
explained there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
NAMED = sorted(set(re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", DOC)))


def test_the_document_names_tests():
    assert len(NAMED) >= 30


@pytest.mark.parametrize(("path", "name"), NAMED, ids=[f"{p}::{n}" for p, n in NAMED])
def test_every_test_the_document_names_exists(path, name):
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    assert name in {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_skipped_scan_check_is_explained():
    config = yaml.safe_load((ROOT / ".checkov.yaml").read_text(encoding="utf-8"))
    skipped = set(config["skip-check"])
    explained = set(re.findall(r"^\| (CKV_\w+) \|", DOC, flags=re.MULTILINE))
    assert skipped == explained
