"""The layer leaves out what Lambda has or never uses (layers/wacloud/Makefile): the functions must
not need it. Each handler module is imported in a fresh interpreter where the left-out modules
cannot be imported."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, fresh_python

LEFT_OUT = ("wacloud.local", "wacloud.cli", "wacloud.ops")
BLOCKER = """
import importlib.abc, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in {left_out!r} or name.startswith(tuple(n + "." for n in {left_out!r})):
            raise ImportError(name + " is not in the layer")
sys.meta_path.insert(0, Blocked())
import functions.{function}.app
"""


@pytest.mark.parametrize("function", ["webhook", "processor", "sender", "api"])
def test_no_function_imports_what_the_layer_leaves_out(function):
    result = fresh_python(BLOCKER.format(left_out=LEFT_OUT, function=function))
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_layer_build_leaves_out_boto3_the_local_run_the_cli_and_the_operator_tools():
    build = (ROOT / "layers" / "wacloud" / "Makefile").read_text(encoding="utf-8")
    requirements = (ROOT / "layers" / "wacloud" / "requirements.txt").read_text(encoding="utf-8")
    assert "boto3" not in [line.split("=")[0] for line in requirements.splitlines() if line and line[0] != "#"]
    assert 'rm -rf "$(TARGET)/wacloud/local" "$(TARGET)/wacloud/cli" "$(TARGET)/wacloud/ops"' in build
