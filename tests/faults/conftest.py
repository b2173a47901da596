"""The fault-injection suite runs the whole local pipeline in-process, without threads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from wacloud.local.meta.graph_rules import RuleSettings
from wacloud.local.pipeline import LocalPipeline, PipelineOptions

# The faults here are injected one by one; Graph's own limits and window would add others.
NO_GRAPH_LIMITS = RuleSettings(enforce_window=False, throughput_per_second=None, pair_limit=None)


def start_pipeline(transport: str = "cloud_api", **parameters: str) -> LocalPipeline:
    options = PipelineOptions(
        background=False,
        retry_delay=0,
        status_webhooks=True,
        parameters=parameters,
        rules=NO_GRAPH_LIMITS,
        default_transport=transport,
    )
    return LocalPipeline(options).start()


@pytest.fixture
def transport() -> str:
    """How the default number is reached: a module overrides this to run on both transports."""
    return "cloud_api"


@pytest.fixture
def pipeline(transport: str) -> Iterator[LocalPipeline]:
    with mock_aws():
        local = start_pipeline(transport, EnforceCustomerServiceWindow="false")
        try:
            yield local
        finally:
            local.stop()
