"""Moved to `wacloud.models.number_entry` (a module named `numbers` shadows the standard library's):
this alias lasts until every import has moved (issue 20), then goes."""

from wacloud.models.number_entry import DEFAULT_APP, NumberEntry, eum_id_key

__all__ = ["DEFAULT_APP", "NumberEntry", "eum_id_key"]
