"""What each function leaves unimported at cold start, because its common first event never needs
it (each is tens of milliseconds of init): the webhook no store, no typed webhook or event models
(it splits bodies on plain JSON; the processor types them), no outbound models and no HTTP client;
the processor no HTTP client (it calls Graph only for media and templates); the sender none of the
inbound webhook models. Neither imports Powertools' parser models: its batch utility imports them
when pydantic is already loaded (about 50 ms), so the batch utility is imported before any model.

And no model of the package is built at import (`defer_build`): each is built by its first
validation, so a cold start builds only the models its first event validates (a nested model
inside its parent's validator, not once more on its own)."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, fresh_python

NOT_IMPORTED = {
    "webhook": [
        "requests",
        "wacloud.adapters.store",
        "wacloud.models.outbound",
        "wacloud.models.webhook",
        "wacloud.models.events",
        "wacloud.inbound.parse",
        "yaml",
        "aws_lambda_powertools.event_handler",  # two routes, routed by hand (and no asyncio)
        "asyncio",
        "pydantic",  # settings and credentials are dataclasses
        "aws_lambda_powertools.utilities.parameters",  # the secret's cache is ours (credentials.py)
    ],
    "processor": [
        "requests",
        "yaml",
        "aws_lambda_powertools.utilities.parser",
        # Graph's answers and the change models: a template read and a change import them.
        "wacloud.models.graph",
        "wacloud.models.changes",
        "wacloud.models.calls",
        "wacloud.models.groups",
    ],
    "sender": ["wacloud.models.webhook", "wacloud.models.events", "yaml", "aws_lambda_powertools.utilities.parser"],
}
# Module-level constants of these models are made at import (so they are built).
BUILT_AT_IMPORT = {"wacloud.models.records.ErrorInfo"}
BUILT_MODELS = """
import inspect, sys
import pydantic
import functions.{function}.app
ours = ("wacloud.models.", "wacloud.conversation.")
for module in [m for name, m in list(sys.modules.items()) if name.startswith(ours)]:
    for name, value in vars(module).items():
        if inspect.isclass(value) and issubclass(value, pydantic.BaseModel) and value.__module__ == module.__name__:
            if value.__pydantic_complete__:
                print(f"{{module.__name__}}.{{name}}")
"""


@pytest.mark.parametrize("function", sorted(NOT_IMPORTED))
def test_a_cold_start_imports_only_what_the_first_event_needs(function):
    names = NOT_IMPORTED[function]
    result = fresh_python(
        f"import sys\nimport functions.{function}.app\nprint([m for m in {names!r} if m in sys.modules])"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("function", ["processor", "sender"])
def test_a_cold_start_builds_no_model_before_its_first_event(function):
    result = fresh_python(BUILT_MODELS.format(function=function))
    assert result.returncode == 0, result.stderr[-2000:]
    assert set(result.stdout.split()) <= BUILT_AT_IMPORT


def test_modules_that_define_models_leave_annotations_unstringified():
    """`from __future__ import annotations` makes pydantic compile every field's annotation from
    its text when the class is made: a cold start's cost for nothing."""
    layer = ROOT / "layers" / "wacloud" / "wacloud"
    modules = [*(layer / "models").glob("*.py"), layer / "conversation" / "rules.py"]
    stringified = [
        path.name
        for path in modules
        if "BaseModel" in (text := path.read_text()) and "from __future__ import annotations" in text
    ]
    assert stringified == []
