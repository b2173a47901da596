"""The fault-injection suite runs the whole local pipeline in-process, without threads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from wacloud.local.pipeline import LocalPipeline, PipelineOptions


def start_pipeline(**parameters: str) -> LocalPipeline:
    options = PipelineOptions(background=False, retry_delay=0, status_webhooks=True, parameters=parameters)
    return LocalPipeline(options).start()


@pytest.fixture
def pipeline() -> Iterator[LocalPipeline]:
    with mock_aws():
        local = start_pipeline(EnforceCustomerServiceWindow="false")
        try:
            yield local
        finally:
            local.stop()
