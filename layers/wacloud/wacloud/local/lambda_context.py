"""A stand-in for the Lambda context object, as much of it as Powertools reads."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

# Not from the template module: that imports yaml, which a function's cold start never pays for.
from wacloud.local.account import ACCOUNT_ID, REGION


@dataclass
class LocalContext:
    function_name: str
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))
