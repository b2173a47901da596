"""What each function leaves unimported at cold start, because its common first event never needs
it (each is tens of milliseconds of init): the webhook no store, no typed webhook or event models
(it splits bodies on plain JSON; the processor types them), no outbound models and no HTTP client;
the processor no HTTP client (it calls Graph only for media and templates); the sender none of the
inbound webhook models."""

from __future__ import annotations

import pytest

from tests.conftest import fresh_python

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
    ],
    "processor": ["requests", "yaml"],
    "sender": ["wacloud.models.webhook", "wacloud.models.events", "yaml"],
}


@pytest.mark.parametrize("function", sorted(NOT_IMPORTED))
def test_a_cold_start_imports_only_what_the_first_event_needs(function):
    names = NOT_IMPORTED[function]
    result = fresh_python(
        f"import sys\nimport functions.{function}.app\nprint([m for m in {names!r} if m in sys.modules])"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
