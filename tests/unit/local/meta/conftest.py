"""A simulated Meta without the pipeline: the fake Graph API with Meta's rules on a localhost port, and
the simulator, whose webhooks are collected instead of posted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from wacloud.local.meta.chat_api import SIMULATOR_HEADER, ChatApi
from wacloud.local.meta.fake_graph import FakeGraph
from wacloud.local.meta.graph_rules import GraphRules, RuleSettings
from wacloud.local.meta.simulator import Simulator

PNID = "100000000000001"
TOKEN = "local-access-token"


@dataclass
class Meta:
    graph: FakeGraph
    simulator: Simulator
    webhooks: list[dict[str, Any]] = field(default_factory=list)

    def send(self, body: dict[str, Any], endpoint: str = "messages") -> tuple[int, dict[str, Any]]:
        """A Graph call as the sender makes it."""
        answer = requests.post(
            f"{self.graph.url}/v25.0/{PNID}/{endpoint}",
            json={"messaging_product": "whatsapp", **body},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        return answer.status_code, answer.json()

    def chat(self, path: str, document: dict[str, Any]) -> dict[str, Any]:
        """A POST to the simulator's own API, as the chat view makes it."""
        import json

        headers = {"Host": "127.0.0.1", SIMULATOR_HEADER: "1"}
        status, _, body = ChatApi(self.simulator)("POST", path, {}, headers, json.dumps(document).encode())
        assert status == 200, body
        return dict(json.loads(body))

    def statuses(self) -> list[dict[str, Any]]:
        """The status webhooks sent so far (the simulator sends them when drained)."""
        self.simulator.drain()
        return [
            item
            for webhook in self.webhooks
            for change in webhook["entry"][0]["changes"]
            for item in change["value"].get("statuses", [])
        ]


@pytest.fixture
def meta() -> Iterator[Meta]:
    rules = GraphRules(RuleSettings(enforce_window=False))
    graph = FakeGraph(access_token=TOKEN, rules=rules).start()
    webhooks: list[dict[str, Any]] = []

    def post(body: dict[str, Any]) -> tuple[int, str]:
        webhooks.append(body)
        return 200, "ok"

    simulator = Simulator(graph=graph, rules=rules, post=post, phone_number_id=PNID, background=False)
    graph.on_request = simulator.on_graph_request
    try:
        yield Meta(graph, simulator, webhooks)
    finally:
        simulator.stop()
        graph.stop()
