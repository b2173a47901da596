"""The pipeline tests share one in-process local pipeline per test (no threads: `drain()` moves
everything that is queued)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from wacloud.local.pipeline import LocalPipeline, PipelineOptions


@pytest.fixture
def pipeline() -> Iterator[LocalPipeline]:
    with mock_aws():
        local = LocalPipeline(PipelineOptions(background=False, retry_delay=0))
        local.start()
        try:
            yield local
        finally:
            local.stop()
