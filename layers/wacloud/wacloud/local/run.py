"""`wacloud local`: start the pipeline on this machine, show where everything is, show events flow."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from wacloud.local.account import REGION
from wacloud.local.meta.business_numbers import EUM, BusinessNumber
from wacloud.local.meta.fake_graph import GraphRequest, is_reply_to
from wacloud.local.pipeline import LocalPipeline, PipelineOptions, find_project_dir, wait_until
from wacloud.local.state import LocalState, read_state, remove_state, write_state
from wacloud.runtime.masking import mask_text

SAY_HI = 'say "Hi there"'
SEND_TEXT = 'send --to +16505551234 --text "Your order shipped" --wait'


def start_aws_emulator() -> Any:
    """A moto server on a free localhost port; every boto3 client of this process goes to it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any credentials
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return server


def run_local(
    *,
    port: int = 3000,
    simulator_port: int = 3001,
    demo: bool = False,
    verbose: bool = False,
    status_webhooks: bool = True,
    show_personal_data: bool = False,
) -> int:
    running = read_state(find_project_dir())
    if running is not None:
        print(
            f"A local run is already going here (process {running.pid}, chat view {running.simulator_url}/): "
            "stop it first, or use it.",
            file=sys.stderr,
        )
        return 2
    print("Starting the AWS emulator (moto)...", flush=True)
    aws = start_aws_emulator()
    # Without --verbose the functions' own JSON logs are kept to errors; the lines printed here tell the story.
    options = PipelineOptions(
        port=port,
        graph_port=simulator_port,
        log_level="INFO" if verbose else "ERROR",
        status_webhooks=status_webhooks,
        show_personal_data=show_personal_data,
    )
    pipeline: LocalPipeline | None = None
    try:
        try:
            pipeline = LocalPipeline(options, echo=lambda line: print(line, flush=True))
            print("Creating the template's queues, tables, bucket and secret; loading the functions...", flush=True)
            pipeline.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            print(
                f"Port {port} or {simulator_port} is in use: pass --port / --simulator-port <free port> "
                "(or set WACLOUD_LOCAL_PORT / WACLOUD_SIMULATOR_PORT).",
                file=sys.stderr,
            )
            return 2
        _banner(pipeline, os.environ["AWS_ENDPOINT_URL"])
        write_state(pipeline.options.project_dir, local_state(pipeline))
        print("A customer writes to each number, as Meta (or End User Messaging Social) delivers it:", flush=True)
        sent = [
            pipeline.customer_says("Hello from the local run!", phone_number_id=number.phone_number_id)
            for number in pipeline.numbers
        ]
        if demo:
            return _finish_demo(
                pipeline,
                [(body["entry"][0]["changes"][0]["value"]["messages"][0]["id"], status) for body, (status, _) in sent],
            )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print(
            f"\nRunning. Open {pipeline.graph.url}/ to chat as a customer, or: {_command(SAY_HI)}   (Ctrl-C stops)\n",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        print("Stopped.")
        return 0
    finally:
        if pipeline is not None:
            remove_state(pipeline.options.project_dir)
            pipeline.stop()
        aws.stop()


def local_state(pipeline: LocalPipeline) -> LocalState:
    """What the other `wacloud` commands need to know of this run."""
    assert pipeline.front_door is not None and pipeline.stack is not None
    return LocalState(
        pid=os.getpid(),
        region=REGION,
        aws_endpoint=os.environ["AWS_ENDPOINT_URL"],
        simulator_url=pipeline.graph.url,
        outputs=pipeline.outputs(),
        parameters=pipeline.stack.parameters,
        # The functions here talk to the simulated Graph API: so does a handler `wacloud invoke` runs.
        environments={
            name: {
                **environment,
                "WACLOUD_GRAPH_BASE_URL": pipeline.graph.url,
                "AWS_ENDPOINT_URL_SOCIALMESSAGING": pipeline.graph.url,
            }
            for name, environment in pipeline.stack.environments.items()
        },
    )


def _finish_demo(pipeline: LocalPipeline, sent: list[tuple[str, int]]) -> int:
    """Wait for each answer to reach its number's transport and its statuses to come back."""
    results = [
        _demo_reply(pipeline, number, wamid, status)
        for number, (wamid, status) in zip(pipeline.numbers, sent, strict=True)
    ]
    ok = all(results)
    print(
        "\nDemo "
        + (
            "passed on each number: webhook or SNS -> processor -> sender -> Graph or EUM -> statuses -> DynamoDB"
            if ok
            else "FAILED: a reply did not leave from its number or its record did not reach 'read'"
        )
    )
    return 0 if ok else 1


def _demo_reply(pipeline: LocalPipeline, number: BusinessNumber, wamid: str, status: int) -> bool:
    from wacloud.adapters.store import Store

    print(f"\nTo {number.label}:")
    if status != 200:
        print(f"  FAILED: the delivery was answered {status}")
        return False
    route = "eum_send" if number.transport == EUM else "messages"

    def replied(requests: list[GraphRequest]) -> bool:
        return any(
            is_reply_to(r, wamid) and r.phone_number_id == number.phone_number_id and r.route == route for r in requests
        )

    if not pipeline.graph.wait_for(replied, timeout=20):
        print(f"  FAILED: no reply left from {number.phone_number_id} through {route}")
        return False
    reply_wamid = pipeline.graph.replies_to(wamid)[0].wamid or ""
    store = Store()
    expect_read = pipeline.options.status_webhooks
    wait_until(
        lambda: (
            (record := store.messages.get(reply_wamid)) is not None and (not expect_read or record.status == "read")
        ),
        timeout=20,
    )
    record = store.messages.get(reply_wamid)
    print("  Stored record of the reply:")
    shown = record.model_dump_json(indent=2, exclude_none=True) if record else "  (none)"
    print(shown if pipeline.options.show_personal_data else mask_text(shown))
    return record is not None and (record.status == "read" or not expect_read)


def _command(arguments: str) -> str:
    """A `wacloud` command line with the path a user can paste."""
    script = Path(sys.executable).parent / "wacloud"
    with contextlib.suppress(ValueError):
        script = script.relative_to(Path.cwd())
    return f"{script} {arguments}"


def _shown(secret: str, pipeline: LocalPipeline) -> str:
    # Even a local default is a credential on a screen that may be shared.
    return secret if pipeline.options.show_personal_data else secret[:3] + "*" * max(len(secret) - 3, 0)


def _aws_id(number: BusinessNumber) -> str:
    return f", AWS id {number.eum_phone_number_id}" if number.eum_phone_number_id else ""


def _eum_queues(pipeline: LocalPipeline) -> str:
    """The queue the topic feeds the ingest from, and where three failed tries put an event
    (`wacloud dlq list|redrive eum`)."""
    assert pipeline.stack is not None
    if pipeline.eum_topic is None:
        return "(none)"
    return f"{pipeline.eum_topic.queue_url}, {pipeline.stack.queue_urls.get('EumIngestDLQ', '(none)')}"


def _banner(pipeline: LocalPipeline, aws_url: str) -> None:
    assert pipeline.front_door is not None and pipeline.stack is not None
    door, secret = pipeline.front_door.url, pipeline.secret
    lines = [
        "",
        "WhatsApp Cloud API pipeline, running locally (no Docker, no AWS, no Meta)",
        "",
        f"  Chat view (simulated customers) {pipeline.graph.url}/",
        f"  Webhook (API Gateway stand-in)  {door}/webhook",
        f"  Graph API (simulated)           {pipeline.graph.url}/<version>/<phone-number-id>/messages",
        f"  AWS emulator (moto)             {aws_url}",
        f"  Inbound queue                   {pipeline.stack.queue_urls['InboundQueue']}",
        f"  Outbound queue                  {pipeline.stack.queue_urls['OutboundQueue']}",
        f"  Messages table                  {pipeline.stack.table_names['MessagesTable']}",
        f"  Media bucket                    {pipeline.stack.bucket_names['MediaBucket']}",
        *(f"  Number {n.phone_number_id:<24} {n.label}{_aws_id(n)}" for n in pipeline.numbers),
        f"  End User Messaging Social (sim) {pipeline.graph.url}/v1/whatsapp/send (AWS_ENDPOINT_URL_SOCIALMESSAGING)",
        f"  EUM event topic                 {pipeline.eum_topic.topic_arn if pipeline.eum_topic else '(none)'}",
        f"  EUM ingest's queue, its DLQ     {_eum_queues(pipeline)}",
        f"  App secret / verify token       {_shown(secret['app_secret'], pipeline)} / {secret['verify_token']}",
        "",
        "  Meta's subscription check:",
        f"    curl '{door}/webhook?hub.mode=subscribe&hub.verify_token={secret['verify_token']}&hub.challenge=42'",
        "  As a customer (or in the chat view):",
        f"    {_command(SAY_HI)}",
        f"    {_command(f'say --number {pipeline.numbers[1].phone_number_id} {SAY_HI[4:]}')}",
        f"    {_command('say --location 37.4847,-122.1477,HQ')}",
        "  As the business (any producer does the same through the outbound queue):",
        f"    {_command(SEND_TEXT)}",
        f"    {_command('status <idempotency key or wamid>')}",
        f"    {_command('templates list')}",
        f"    {_command('invoke webhook -e events/webhook-post-text.json')}",
        "",
    ]
    print("\n".join(lines), flush=True)
