"""What a command works on: a deployed stack (`--stack NAME`, boto3's usual credentials) or the
running local pipeline (the default when a `wacloud local` runs here). Both are seen the same way:
the stack's outputs and parameters, its secret's token, a Graph client."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from typing import Any

from wacloud.local.state import LocalState


class CommandError(Exception):
    """A command cannot go on: the message says why (and what to do); the exit code is 1 by default."""

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(CommandError):
    """The command line lacks something: exit code 2, like argparse's own errors."""

    exit_code = 2


@dataclass(frozen=True)
class Target:
    label: str  # "the local run" or "stack <name>"
    outputs: dict[str, str]
    parameters: dict[str, str]
    local: LocalState | None = None
    _tokens: list[str] = field(default_factory=list, compare=False, repr=False)  # the token once read

    def output(self, key: str) -> str:
        value = self.outputs.get(key)
        if not value:
            raise CommandError(f"{self.label} has no output {key}: is it a deployed wacloud stack of this version?")
        return value

    def token(self) -> str:
        """The access token, from the stack's secret (the local run has one too)."""
        import boto3

        name = self.output("SecretName")
        secret = boto3.client("secretsmanager").get_secret_value(SecretId=name)
        token = json.loads(secret["SecretString"]).get("access_token")
        if not token:
            raise CommandError(f"secret {name} has no access_token")
        return str(token)

    def token_source(self, *, fresh: bool = False) -> str:
        """The Graph client's token source: the secret's token, read once, and again only when Graph
        refused it (`fresh`)."""
        if fresh or not self._tokens:
            self._tokens[:] = [self.token()]
        return self._tokens[0]

    def graph(self) -> Any:
        """A Graph client: the local run's simulated Graph API, or Meta's (a proxy only over HTTPS)."""
        from wacloud.adapters.graph import GraphClient
        from wacloud.config import DEFAULT_GRAPH_API_VERSION, DEFAULT_GRAPH_BASE_URL

        version = self.parameters.get("GraphApiVersion") or DEFAULT_GRAPH_API_VERSION
        if self.local is not None:
            return GraphClient(base_url=self.local.simulator_url, api_version=version, token=self.token_source)
        # The production token goes with every call: never to a plain-HTTP endpoint left in the environment.
        base_url = os.environ.get("WACLOUD_GRAPH_BASE_URL", "")
        return GraphClient(
            base_url=base_url if base_url.startswith("https://") else DEFAULT_GRAPH_BASE_URL,
            api_version=version,
            token=self.token_source,
        )

    def store(self) -> Any:
        from wacloud.adapters.store import Store
        from wacloud.adapters.table import Table

        return Store(Table(self.output("MessagesTableName")))


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", metavar="NAME", help="a deployed stack (default: the local run, if one runs here)")
    where.add_argument("--local", action="store_true", help="the running local pipeline (`wacloud local`)")


def resolve_target(args: argparse.Namespace) -> Target:
    if getattr(args, "stack", None):
        from wacloud.ops.deployed_stack import describe_stack

        stack = describe_stack(args.stack)
        return Target(f"stack {args.stack}", stack.outputs, stack.parameters)
    return local_target()


def local_target() -> Target:
    from wacloud.local.pipeline import find_project_dir
    from wacloud.local.state import read_state

    state = read_state(find_project_dir())
    if state is None:
        raise CommandError("no local pipeline is running here: start one with `make local`, or pass --stack NAME")
    state.activate()
    return Target("the local run", state.outputs, state.parameters, state)
