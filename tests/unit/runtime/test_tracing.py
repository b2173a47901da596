"""Tracing is opt-in (template parameter Tracing): off, the X-Ray SDK is never imported, which is
about 160 ms of every cold start; on, every handler is captured by Powertools' Tracer."""

from __future__ import annotations

import pytest

from tests.conftest import TEMPLATE, fresh_python

CHECK = """
import sys
import functions.{function}.app
from wacloud.runtime import tracing
print("xray" if "aws_xray_sdk" in sys.modules else "no-xray", tracing._tracer.cache_info().currsize == 1)
"""


def run(function: str, **env: str) -> str:
    result = fresh_python(CHECK.format(function=function), **env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


@pytest.mark.parametrize("function", ["webhook", "processor", "sender", "api"])
def test_without_tracing_the_xray_sdk_is_never_imported(function):
    assert run(function) == "no-xray False"
    assert run(function, WACLOUD_TRACING="PassThrough") == "no-xray False"


@pytest.mark.parametrize("function", ["webhook", "sender"])
def test_with_tracing_every_handler_is_captured(function):
    assert run(function, WACLOUD_TRACING="Active", AWS_LAMBDA_FUNCTION_NAME="f") == "xray True"


def test_the_template_sets_one_tracing_mode_for_functions_and_code():
    function = TEMPLATE["Globals"]["Function"]
    assert function["Tracing"] == {"Ref": "Tracing"}
    assert function["Environment"]["Variables"]["WACLOUD_TRACING"] == {"Ref": "Tracing"}
    assert TEMPLATE["Parameters"]["Tracing"]["Default"] == "PassThrough"
