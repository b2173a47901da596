"""wacloud.adapters.store.caches: uploaded media ids (29 days) and template definitions (moto)."""

from __future__ import annotations

import pytest

from wacloud.adapters.store import Store
from wacloud.models.graph import TemplateDefinition

pytestmark = pytest.mark.usefixtures("aws")


def test_an_upload_is_reused_for_29_days_and_not_a_second_longer():
    clock = [1_800_000_000]
    uploads = Store(clock=lambda: clock[0]).media_uploads
    uploads.put("pnid|bucket|key|etag", "1013859600285441")

    clock[0] += 29 * 86400
    assert uploads.get("pnid|bucket|key|etag") == "1013859600285441"
    assert uploads.get("pnid|bucket|key|other-etag") is None
    clock[0] += 1
    assert uploads.get("pnid|bucket|key|etag") is None


def test_template_definitions_are_kept_by_name_and_language_and_forgotten_when_they_change():
    clock = [1_800_000_000]
    templates = Store(clock=lambda: clock[0]).templates
    for language in ("en_US", "es"):
        templates.put(TemplateDefinition(name="order_update", language=language, status="APPROVED"), ttl_seconds=60)
    templates.put(TemplateDefinition(name="other", language="en_US"), ttl_seconds=60)

    found = templates.get("order_update", "es")
    assert found is not None and found[0].language == "es" and found[1] == clock[0]
    assert templates.get("order_update", "fr") is None

    templates.forget("order_update", "es")
    assert templates.get("order_update", "es") is None and templates.get("order_update", "en_US") is not None
    templates.forget("order_update")  # every language
    assert templates.get("order_update", "en_US") is None
    assert templates.get("other", "en_US") is not None
