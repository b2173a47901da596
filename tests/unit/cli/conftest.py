"""The dead-letter commands poll SQS briefly, as the dead-letter tools' own tests do; the commands
that work on a stack get this test's moto stack as a deployed one."""

from __future__ import annotations

import pytest

from tests.conftest import TEMPLATE
from tests.unit.ops.conftest import short_polls  # noqa: F401 (autouse)
from wacloud.local.cloudformation import Stack
from wacloud.ops import deployed_stack


@pytest.fixture
def deployed(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> deployed_stack.DeployedStack:
    """`--stack whatsapp-cloud`: the moto stack, its outputs and parameters as CloudFormation gives them."""
    described = deployed_stack.DeployedStack("whatsapp-cloud", aws.outputs(TEMPLATE), dict(aws.parameters))
    monkeypatch.setattr(deployed_stack, "describe_stack", lambda name, client=None: described)
    return described
