"""`wacloud invoke FUNCTION -e events/x.json`: run one handler in this process with a sample event,
the Docker-free twin of `sam local invoke`. The function gets the environment it has in the target:
the local run's (its moto server) or a deployed function's own configuration (real AWS)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wacloud.cli.targets import CommandError, UsageError, add_target_arguments, resolve_target


def register(commands: Any) -> None:
    invoke = commands.add_parser(
        "invoke",
        help="run a function's handler here with a sample event (like `sam local invoke`, without Docker)",
        description="FUNCTION is a logical id from template.yaml (WebhookFunction) or its short name (webhook). "
        "Against the local run the function talks to its moto server; with --stack it gets the deployed "
        "function's own environment and talks to real AWS with your credentials. As in Lambda, the function's "
        "folder (functions/<name>/) is its task root, LAMBDA_TASK_ROOT.",
    )
    invoke.add_argument("function", metavar="FUNCTION")
    invoke.add_argument(
        "-e", "--event", required=True, metavar="FILE", help="the event, e.g. events/webhook-post-text.json"
    )
    invoke.add_argument(
        "--env-vars", metavar="FILE", help='overrides, as for sam: {"WebhookFunction": {"VAR": "value"}}'
    )
    add_target_arguments(invoke)
    invoke.set_defaults(run=run_invoke)


def run_invoke(args: argparse.Namespace) -> int:
    from wacloud.local.cloudformation import load_template
    from wacloud.local.lambda_context import LocalContext
    from wacloud.local.pipeline import find_project_dir

    project = find_project_dir()
    functions = {
        name: spec["Properties"]
        for name, spec in load_template(project / "template.yaml")["Resources"].items()
        if spec["Type"] == "AWS::Serverless::Function"
    }
    logical = next((name for name, props in functions.items() if args.function in (name, _folder(props).name)), None)
    if logical is None:
        choices = ", ".join(f"{name} ({_folder(props).name})" for name, props in functions.items())
        raise UsageError(f"no function {args.function!r}; the template has {choices}")
    event = _json_file(args.event)
    target = resolve_target(args)
    folder = project / _folder(functions[logical])
    # As in Lambda, the task root is the function's code: a relative rules file is found there.
    environment = {"LAMBDA_TASK_ROOT": str(folder), **_environment(target, logical, args)}
    environment.setdefault("POWERTOOLS_TRACE_DISABLED", os.environ.get("POWERTOOLS_TRACE_DISABLED", "true"))
    warnings.filterwarnings("ignore", "No application metrics to publish")
    context = LocalContext(function_name=logical, timeout_seconds=float(functions[logical].get("Timeout", 30)))
    print(f"invoking {logical} ({target.label}) with {args.event}", file=sys.stderr)
    with _environment_of_the_call(environment):
        handler = _load_handler(folder / "app.py", project)
        try:
            result = handler(event, context)
        except Exception:
            traceback.print_exc()
            return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


@contextmanager
def _environment_of_the_call(environment: dict[str, str]) -> Iterator[None]:
    """The function's variables for the handler's import and call only; the process's own after."""
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _folder(props: dict[str, Any]) -> Path:
    return Path(str(props.get("CodeUri", "")).rstrip("/"))


def _json_file(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc


def _environment(target: Any, logical: str, args: argparse.Namespace) -> dict[str, str]:
    if target.local is not None:
        environment = dict(target.local.environments.get(logical, {}))
    else:
        import boto3

        resource = boto3.client("cloudformation").describe_stack_resource(
            StackName=args.stack, LogicalResourceId=logical
        )["StackResourceDetail"]
        configuration = boto3.client("lambda").get_function_configuration(FunctionName=resource["PhysicalResourceId"])
        environment = dict((configuration.get("Environment") or {}).get("Variables", {}))
    if args.env_vars:
        overrides = _json_file(args.env_vars)
        if not isinstance(overrides, dict):
            raise UsageError(f"{args.env_vars} is not a JSON object")
        for scope in ("Parameters", logical):
            environment.update({k: str(v) for k, v in (overrides.get(scope) or {}).items()})
    if not environment:
        raise CommandError(f"{target.label} gave no environment for {logical}")
    return environment


def _load_handler(path: Path, project: Path) -> Any:
    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    spec = importlib.util.spec_from_file_location(f"{path.parent.name}_app", path)
    if spec is None or spec.loader is None:
        raise CommandError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler
