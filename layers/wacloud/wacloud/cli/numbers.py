"""Moved to `wacloud.cli.phone_numbers` (a module named `numbers` shadows the standard library's):
this alias lasts until every import has moved (issue 20), then goes."""

from wacloud.cli.phone_numbers import target_registry

__all__ = ["target_registry"]
