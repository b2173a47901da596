"""The whole pipeline on this machine: template resources in moto, the functions in-process,
the front door, the pollers, and the simulated Meta side: the fake Graph API, its rules, and the
simulator's customers (who write, and get status webhooks for what the business sends them).

The business has two numbers: the default one on Meta's Cloud API (webhooks signed and POSTed,
sends to the fake Graph API) and a second on AWS End User Messaging Social (its events published on
the stack's EUM topic, drained from a queue into the EUM ingest function; sends to the fake service
on the simulator's port, where AWS_ENDPOINT_URL_SOCIALMESSAGING points boto3)."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from wacloud.adapters.store.customers import CustomerRecords
from wacloud.adapters.table import StoreError, Table
from wacloud.local import moto_fixes
from wacloud.local.account import REGION
from wacloud.local.cloudformation import Stack, load_template, provision
from wacloud.local.defaults import LOCAL_DEFAULTS, local_numbers, local_setting
from wacloud.local.deliveries import Deliveries, EumTopic, register_numbers, subscribe_queue
from wacloud.local.front_door import FrontDoor
from wacloud.local.lambda_context import LocalContext
from wacloud.local.meta.business_numbers import CLOUD_API
from wacloud.local.meta.chat_api import ChatApi
from wacloud.local.meta.fake_eum import FakeEum
from wacloud.local.meta.fake_graph import FakeGraph, GraphRequest
from wacloud.local.meta.graph_rules import GraphRules, RuleSettings
from wacloud.local.meta.simulator import Simulator
from wacloud.local.meta.webhooks import DEFAULT_WABA_ID
from wacloud.local.pollers import PollResult, QueuePoller
from wacloud.local.terminal import batch_line, front_door_line, graph_line
from wacloud.outbound.contract import deduplication_id as contract_deduplication_id
from wacloud.outbound.contract import message_group_id
from wacloud.runtime import singletons
from wacloud.runtime.masking import mask_text

__all__ = ["LOCAL_DEFAULTS", "LocalPipeline", "PipelineOptions", "find_project_dir", "local_setting", "wait_until"]
FUNCTIONS = {
    "WebhookFunction": "webhook",
    "ProcessorFunction": "processor",
    "SenderFunction": "sender",
    "ApiFunction": "api",
    "UnconfirmedCheckFunction": "unconfirmed_check",
    "EumIngestFunction": "eum_ingest",
}
# End User Messaging Social's events: its topic (the template's), drained to this function.
EUM_TOPIC, EUM_FUNCTION, EUM_DLQ = "EumEventTopic", "EumIngestFunction", "EumIngestDLQ"
# The queues the pollers feed the functions from, as the template's SQS events do.
QUEUE_FUNCTIONS = (
    ("InboundQueue", "ProcessorFunction"),
    ("OutboundQueue", "SenderFunction"),
    ("UnconfirmedCheckQueue", "UnconfirmedCheckFunction"),
)


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding template.yaml: from the working directory up, else beside this package."""
    for folder in [(start or Path.cwd()).resolve(), *(start or Path.cwd()).resolve().parents]:
        if (folder / "template.yaml").is_file() and (folder / "functions").is_dir():
            return folder
    return Path(__file__).resolve().parents[4]


@dataclass
class PipelineOptions:
    project_dir: Path = field(default_factory=find_project_dir)
    port: int = 0
    graph_port: int = 0  # the simulated Meta side: Graph API, chat view, simulator API
    # Seconds before a failed record is received again: the inbound queue's visibility timeout and
    # the sender's first retry delay (deployed: 180 s and RetryBaseSeconds).
    retry_delay: int = 5
    status_webhooks: bool = True
    status_delays: tuple[float, ...] = (0.3, 0.6, 1.2)
    background: bool = True  # pollers and status webhooks on threads; False: call drain()
    # What Graph refuses: outside the 24-hour window, past the throughput or the pair rate limit.
    rules: RuleSettings = field(default_factory=RuleSettings)
    log_level: str = "WARNING"
    # The terminal masks phone numbers, wamids and customers' text as the functions' logs do;
    # True shows them (debugging with made-up customers).
    show_personal_data: bool = False
    auto_reply_text: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    # How the default number is reached: "cloud_api", or "eum" to run everything on the second
    # transport (the default number is then registered on End User Messaging Social too).
    default_transport: str = CLOUD_API


class LocalPipeline:
    def __init__(self, options: PipelineOptions | None = None, *, echo: Callable[[str], None] | None = None) -> None:
        self.options = options or PipelineOptions()
        shown = echo or (lambda line: None)
        self.echo = shown if self.options.show_personal_data else (lambda line: shown(mask_text(line)))
        self.secret = {name: local_setting(name) for name in ("access_token", "app_secret", "verify_token")}
        self.phone_number_id = local_setting("phone_number_id")
        self.numbers = local_numbers(self.options.default_transport)
        self.eum_number = self.numbers[1]
        self.rules = GraphRules(self.options.rules, last_inbound=self._last_inbound)
        self.graph = FakeGraph(
            access_token=self.secret["access_token"],
            port=self.options.graph_port,
            on_request=self._on_graph_request,
            rules=self.rules,
        )
        self.eum = FakeEum(self.graph, self.numbers)
        self.deliveries = Deliveries(self.numbers, app_secret=self.secret["app_secret"], echo=self.echo)
        self.eum_topic: EumTopic | None = None
        self.simulator = Simulator(
            graph=self.graph,
            rules=self.rules,
            post=self.deliveries.deliver,
            numbers=self.numbers,
            phone_number_id=self.phone_number_id,
            status_delays=self.options.status_delays,
            status_webhooks=self.options.status_webhooks,
            background=self.options.background,
            rotate_token=self.rotate_token,
            echo=self.echo,
        )
        self.graph.app = ChatApi(self.simulator)
        self.stack: Stack | None = None
        self.front_door: FrontDoor | None = None
        self.pollers: list[QueuePoller] = []
        self._handlers: dict[str, Any] = {}
        self._locks = {name: threading.Lock() for name in FUNCTIONS}
        self._timeouts: dict[str, float] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._token_rotations = 0
        self._customers: CustomerRecords | None = None  # for the simulated Graph's lookups, made at start
        self._saved_env: dict[str, str] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LocalPipeline:
        """Create the resources, load the functions, open the front door, start polling."""
        options = self.options
        template = load_template(options.project_dir / "template.yaml")
        moto_fixes.apply()
        self.graph.start()
        parameters = {
            "PhoneNumberId": self.phone_number_id,
            "WabaId": DEFAULT_WABA_ID,
            "LogLevel": options.log_level,
            "RetryBaseSeconds": str(options.retry_delay),
            **options.parameters,
        }
        if options.auto_reply_text is not None:
            parameters["AutoReplyText"] = options.auto_reply_text
        self.stack = provision(
            template,
            session=boto3.Session(region_name=REGION),
            parameters=parameters,
            secret=self.secret,
            queue_overrides={"VisibilityTimeout": str(options.retry_delay)},
        )
        register_numbers(self.stack.parameters["SecretName"], self.numbers, default=self.phone_number_id)
        self._saved_env = dict(os.environ)
        os.environ["WACLOUD_GRAPH_BASE_URL"] = self.graph.url
        # botocore takes a service's own endpoint over AWS_ENDPOINT_URL: only socialmessaging goes here.
        os.environ["AWS_ENDPOINT_URL_SOCIALMESSAGING"] = self.graph.url
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        singletons.reset()
        self._load_functions(template)
        self.front_door = FrontDoor(
            {
                "/webhook": lambda event: self.invoke("WebhookFunction", event),
                "/messages": lambda event: self.invoke("ApiFunction", event),
            },
            port=options.port,
            on_request=self._on_request,
        ).start()
        self.deliveries.webhook_base = self.front_door.url
        sqs = boto3.client("sqs", region_name=REGION)
        table = Table(self.stack.table_names["MessagesTable"], client=boto3.client("dynamodb", region_name=REGION))
        self._customers = CustomerRecords(table, ttl_seconds=0)
        for queue, function in QUEUE_FUNCTIONS:
            self.pollers.append(
                QueuePoller(
                    name=FUNCTIONS[function],
                    sqs=sqs,
                    queue_url=self.stack.queue_urls[queue],
                    queue_arn=self.stack.attributes[(queue, "Arn")],
                    invoke=self._invoker(function),
                    on_batch=self._on_batch,
                )
            )
        self._subscribe_eum(sqs)
        if options.background:
            for poller in self.pollers:
                thread = threading.Thread(target=poller.run, args=(self._stop,), name=poller.name, daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def _subscribe_eum(self, sqs: Any) -> None:
        """The EUM topic's events, through a queue, to the EUM ingest function (when the template has both)."""
        assert self.stack is not None
        topic_arn = self.stack.refs.get(EUM_TOPIC)
        if topic_arn is None or EUM_FUNCTION not in self._handlers:
            self.echo("  [eum]       no EumEventTopic or EumIngestFunction: EUM numbers' events cannot be delivered")
            return
        sns = boto3.client("sns", region_name=REGION)
        self.eum_topic = subscribe_queue(
            sqs=sqs,
            sns=sns,
            topic_arn=topic_arn,
            name=f"{self.stack.name}-eum-local",
            visibility_timeout=self.options.retry_delay,
            dead_letter_arn=self.stack.attributes.get((EUM_DLQ, "Arn")),
        )
        self.deliveries.sns, self.deliveries.topic_arn = sns, topic_arn
        self.pollers.append(self.eum_topic.poller(sqs, self._invoker(EUM_FUNCTION), on_batch=self._on_batch))

    def stop(self) -> None:
        self._stop.set()
        self.simulator.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.front_door is not None:
            self.front_door.stop()
        self.graph.stop()
        if self._saved_env is not None:
            os.environ.clear()
            os.environ.update(self._saved_env)
            singletons.reset()

    def outputs(self) -> dict[str, str]:
        """The stack's outputs, as a deployed stack would have them, for what runs here."""
        assert self.stack is not None and self.front_door is not None
        template = load_template(self.options.project_dir / "template.yaml")
        return {**self.stack.outputs(template), "WebhookUrl": f"{self.front_door.url}/webhook"}

    def __enter__(self) -> LocalPipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the functions ---------------------------------------------------------------------------

    def _load_functions(self, template: dict[str, Any]) -> None:
        assert self.stack is not None
        project = str(self.options.project_dir)
        if project not in sys.path:
            sys.path.insert(0, project)
        globals_timeout = template.get("Globals", {}).get("Function", {}).get("Timeout", 30)
        for logical_id, folder in FUNCTIONS.items():
            if logical_id not in template["Resources"]:
                continue  # EUM's ingest, in a template from before it
            environment = self.stack.environments[logical_id]
            os.environ.update(environment)  # the same for all but the service name and the rules file
            module = importlib.import_module(f"functions.{folder}.app")
            self._handlers[logical_id] = module.lambda_handler
            props = template["Resources"][logical_id].get("Properties", {})
            self._timeouts[logical_id] = float(props.get("Timeout", globals_timeout))
        # Where Lambda would unpack the processor: its rules file (WACLOUD_RULES) is read from there.
        os.environ["LAMBDA_TASK_ROOT"] = str(self.options.project_dir / "functions" / "processor")

    def _invoker(self, logical_id: str) -> Callable[[dict[str, Any]], Any]:
        """What a poller calls: `invoke`, looked up at each call (tests wrap it)."""
        return lambda event: self.invoke(logical_id, event)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Run a function on an event, one invocation at a time per function (like one instance)."""
        with self._locks[logical_id]:
            os.environ["POWERTOOLS_SERVICE_NAME"] = FUNCTIONS[logical_id]
            context = LocalContext(
                function_name=f"wacloud-local-{FUNCTIONS[logical_id]}", timeout_seconds=self._timeouts[logical_id]
            )
            return self._handlers[logical_id](event, context)

    # -- driving it ------------------------------------------------------------------------------

    def post_webhook(self, body: dict[str, Any] | bytes, *, signature: str | None = "sign") -> tuple[int, str]:
        """POST a body to the front door, signed with the local app secret unless told otherwise; the
        simulator sees the customers' messages in it (their windows open, their conversations grow)."""
        if isinstance(body, dict) and signature == "sign":
            self.simulator.observe(body)
        return self._post(body, signature=signature)

    def deliver(self, body: dict[str, Any]) -> tuple[int, str]:
        """Deliver a body as its number is reached: POSTed to /webhook, or published on the EUM topic."""
        self.simulator.observe(body)
        return self.deliveries.deliver(body)

    def _post(self, body: dict[str, Any] | bytes, *, signature: str | None = "sign") -> tuple[int, str]:
        assert self.front_door is not None
        return self.deliveries.post(body, signature=signature)

    def customer_says(
        self,
        text: str,
        *,
        sender: str = "16505551234",
        name: str = "Local Customer",
        wamid: str | None = None,
        phone_number_id: str | None = None,
    ) -> tuple[dict[str, Any], tuple[int, str]]:
        """A simulated customer's text message to a business number (the default one unless given),
        delivered as that number's webhooks are."""
        message = {"type": "text", "text": {"body": text}}
        body, status, answer = self.simulator.customer_sends(
            sender, message, name=name, wamid=wamid, phone_number_id=phone_number_id
        )
        return body, (status, answer)

    def _last_inbound(self, customer: str) -> float | None:
        """When the store last heard from a customer (a message that reached the webhook without the
        simulator, e.g. `wacloud invoke webhook`)."""
        if self._customers is None:
            return None
        try:
            contact = self._customers.get(customer)
        except StoreError:  # a lookup that fails only means "not known"
            return None
        return float(contact.last_inbound_at) if contact is not None and contact.last_inbound_at else None

    def rotate_token(self) -> str:
        """Rotate the access token as an operator would: Meta takes only the new one, the secret holds it."""
        assert self.stack is not None
        self._token_rotations += 1
        token = f"{local_setting('access_token')}-rotated-{self._token_rotations}"
        self.graph.access_token = token
        self.secret["access_token"] = token
        boto3.client("secretsmanager", region_name=REGION).put_secret_value(
            SecretId=self.stack.parameters["SecretName"], SecretString=json.dumps(self.secret)
        )
        self.echo("  [meta]      access token rotated; the secret holds the new one")
        return token

    def send_outbound(self, document: dict[str, Any], *, deduplication_id: str | None = None) -> None:
        """Put a document on the outbound queue as another system would (group = the recipient)."""
        assert self.stack is not None
        message = document.get("message", {})
        group = message_group_id(str(message.get("to") or document.get("idempotency_key")))
        body = json.dumps(document)
        boto3.client("sqs", region_name=REGION).send_message(
            QueueUrl=self.stack.queue_urls["OutboundQueue"],
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=deduplication_id or contract_deduplication_id(body),
        )

    def drain(self, *, max_rounds: int = 50) -> None:
        """Without background threads: deliver queued work until nothing moves any more."""
        for _ in range(max_rounds):
            moved = self.simulator.drain()
            for poller in self.pollers:
                while poller.poll_once().received:
                    moved = True
            if not moved:
                return
        raise RuntimeError("the pipeline did not settle")

    # -- what the terminal shows -----------------------------------------------------------------

    def _on_request(self, method: str, path: str, status: int, body: bytes, data: bytes) -> None:
        if method == "POST" and path.startswith("/webhook") and status == 200:
            # Whoever posted it (the simulator, curl, a test), Meta would have delivered it: its
            # customers' messages join their conversations and open their windows.
            with contextlib.suppress(ValueError, RecursionError):  # hostile bodies are the webhook's business
                document = json.loads(body)
                if isinstance(document, dict):
                    self.simulator.observe(document)
        self.echo(front_door_line(method, path, status, data))

    def _on_graph_request(self, request: GraphRequest) -> None:
        self.simulator.on_graph_request(request)
        self.echo(graph_line(request, show_personal_data=self.options.show_personal_data))

    def _on_batch(self, name: str, result: PollResult) -> None:
        self.echo(batch_line(name, result))


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
