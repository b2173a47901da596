"""`wacloud local`'s banner: where the EUM ingest's events wait, and where they go when it fails."""

from __future__ import annotations

from moto import mock_aws

from wacloud.local.pipeline import LocalPipeline, PipelineOptions
from wacloud.local.run import _eum_queues


def test_the_banner_names_the_eum_ingests_queue_and_its_dlq():
    with mock_aws():
        pipeline = LocalPipeline(PipelineOptions(background=False)).start()
        try:
            assert pipeline.eum_topic is not None and pipeline.stack is not None
            shown = _eum_queues(pipeline)
            assert shown == f"{pipeline.eum_topic.queue_url}, {pipeline.stack.queue_urls['EumIngestDLQ']}"
            assert shown.endswith("wacloud-local-eum-ingest-dlq")
        finally:
            pipeline.stop()
