"""The dead-letter commands poll SQS briefly, as the dead-letter tools' own tests do."""

from tests.unit.ops.conftest import short_polls  # noqa: F401 (autouse)
