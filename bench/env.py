"""What every benchmark runs against: a moto server provisioned from template.yaml (one endpoint
for this process and for the cold-start subprocesses), the functions' environment, and a fake Graph
API that answers after a set latency and, when asked, enforces a rate limit with Meta's 130429."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

from wacloud.models.confirmation_marker import named_key

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
# The benchmark's own fake credentials, for moto.
SECRET = {"access_token": "bench-token", "app_secret": "bench", "verify_token": "bench"}  # checkov:skip=CKV_SECRET_6
PHONE_NUMBER_ID = "100000000000001"
FUNCTION_FOLDERS = {
    "WebhookFunction": "webhook",
    "ProcessorFunction": "processor",
    "SenderFunction": "sender",
    "ApiFunction": "api",
}


@dataclass
class Stack:
    endpoint: str
    environment: dict[str, dict[str, str]]  # per function logical id
    queue_urls: dict[str, str]
    table_names: dict[str, str]


@contextmanager
def aws() -> Iterator[Stack]:
    """A moto server with the template's resources; this process's boto3 clients all go to it."""
    from wacloud.local import moto_fixes
    from wacloud.local.cloudformation import load_template, provision

    # In its own process, on the other core: in this one, moto's request handling would compete
    # with the code measured for the interpreter lock.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 - moto's own server module, from our venv
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()  # noqa: S310 - localhost
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.1)
    saved = dict(os.environ)
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    try:
        moto_fixes.apply()
        stack = provision(
            load_template(ROOT / "template.yaml"),
            session=boto3.Session(region_name=REGION),
            parameters={"PhoneNumberId": PHONE_NUMBER_ID, "EnforceCustomerServiceWindow": "false"},
            secret=SECRET,
        )
        yield Stack(endpoint, stack.environments, stack.queue_urls, stack.table_names)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.terminate()
        server.wait(timeout=30)


def function_environment(stack: Stack, logical_id: str, graph_url: str) -> dict[str, str]:
    """The deployed function's variables, pointed at moto and the fake Graph API."""
    return {
        **stack.environment[logical_id],
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "WACLOUD_GRAPH_BASE_URL": graph_url,
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{logical_id}",
        # Where Lambda unpacks the function's code (the processor reads its rules file from there).
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / FUNCTION_FOLDERS[logical_id]),
    }


def drain(queue_url: str) -> int:
    """Delete everything on a queue (moto slows down as a queue grows)."""
    sqs = boto3.client("sqs", region_name=REGION)
    removed = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return removed
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
        removed += len(messages)


@dataclass
class FakeGraph:
    """POST /{version}/{phone number id}/messages answered after `latency` seconds. With
    `limit(rate)`, Meta's throughput limit: a token bucket refilled at `rate` per second that holds
    one second's worth; a request finding it empty gets 130429 (and is not delivered)."""

    latency: float = 0.0
    rate_per_second: float | None = None
    accepted: int = 0
    throttled: int = 0
    delivered_keys: set[str] = field(default_factory=set)  # the keys their confirmation markers name
    accepted_at: list[float] = field(default_factory=list)
    _tokens: float = 0.0
    _refilled: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        graph = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, the client's delayed ACK
                # adds 40 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(graph.latency)
                status, body = graph.answer(raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def limit(self, rate_per_second: float | None) -> None:
        """Enforce a throughput limit from now on (the bucket starts full), or none; counts reset."""
        with self._lock:
            self.rate_per_second = rate_per_second
            self._tokens, self._refilled = rate_per_second or 0.0, time.monotonic()
            self.accepted, self.throttled = 0, 0
            self.delivered_keys, self.accepted_at = set(), []

    def answer(self, raw: bytes = b"") -> tuple[int, dict[str, Any]]:
        with self._lock:
            now = time.monotonic()
            if self.rate_per_second is not None:
                rate = self.rate_per_second
                self._tokens = min(rate, self._tokens + (now - self._refilled) * rate)
                self._refilled = now
                if self._tokens < 1:
                    self.throttled += 1
                    error = {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429}
                    return 400, {"error": error}
                self._tokens -= 1
            self.accepted += 1
            self.accepted_at.append(now)
            key = _callback_data(raw)
            if key:
                self.delivered_keys.add(key)
        return 200, {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.{uuid.uuid4().hex}"}]}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _callback_data(raw: bytes) -> str | None:
    """The document's idempotency key, from the confirmation marker the sender attaches to each send."""
    try:
        data = json.loads(raw).get("biz_opaque_callback_data")
    except (ValueError, AttributeError):
        return None
    return named_key(data) if isinstance(data, str) else None
