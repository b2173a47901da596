"""wacloud.adapters.store.caches: uploaded media ids (29 days) and template definitions (moto)."""

from __future__ import annotations

import pytest

from wacloud.adapters.store import Store
from wacloud.adapters.store.caches import Announced, TemplateChanges, changes_key
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


def test_a_template_change_is_counted_with_the_status_or_category_it_gave():
    clock = [1_800_000_000]
    templates = Store(clock=lambda: clock[0]).templates
    assert templates.changes("order_update") == TemplateChanges("order_update")  # none yet: version 0

    templates.record_change("order_update", "en_US", status="paused")
    templates.record_change("order_update", "es", category="MARKETING")
    templates.record_change("order_update", None, status="APPROVED")  # no language: every language
    templates.record_change("order_update", "en_US")  # a components or quality update: counted only

    changes = templates.changes("order_update")
    assert changes.version == 4
    assert changes.announced == {
        "status:en_US": Announced("PAUSED", 1),
        "category:es": Announced("MARKETING", 2),
        "status:*": Announced("APPROVED", 3),
    }
    assert templates.changes("other").version == 0


def test_the_newest_announcement_after_a_definition_is_the_one_that_counts():
    changes = TemplateChanges("t", 3, {"status:en_US": Announced("PAUSED", 1), "status:*": Announced("APPROVED", 3)})

    assert changes.newer("status", "en_US", than=0) == Announced("APPROVED", 3)  # the later, for every language
    assert changes.newer("status", "en_US", than=3) is None  # the definition was fetched after both
    assert changes.newer("category", "en_US", than=0) is None
    paused = TemplateChanges("t", 2, {"status:en_US": Announced("PAUSED", 2), "status:*": Announced("APPROVED", 1)})
    assert paused.newer("status", "en_US", than=1) == Announced("PAUSED", 2)
    assert paused.newer("status", "es", than=0) == Announced("APPROVED", 1)


def test_a_definition_carries_the_change_count_it_was_fetched_at():
    templates = Store().templates
    definition = TemplateDefinition(name="order_update", language="en_US", status="APPROVED")
    templates.record_change("order_update", "en_US", status="PAUSED")

    assert templates.put(definition, ttl_seconds=60).version == 1  # by default the current count
    assert templates.put(definition, ttl_seconds=60, version=0).version == 0  # read before a slow fetch
    cached = templates.get("order_update", "en_US")
    assert cached is not None and (cached.definition, cached.version) == (definition, 0)


def test_forgetting_a_template_keeps_its_change_count_which_never_expires():
    store = Store()
    templates = store.templates
    templates.put(TemplateDefinition(name="order_update", language="en_US"), ttl_seconds=60)
    templates.record_change("order_update", None, category="MARKETING")

    templates.forget("order_update")

    assert templates.get("order_update", "en_US") is None
    # A count that started again would rank Meta's next announcement below older definitions.
    assert templates.changes("order_update").version == 1
    assert "expires_at" not in (store.table.get(changes_key("order_update")) or {})


def test_the_changes_are_found_among_items_read_with_others():
    store = Store()
    store.templates.record_change("order_update", "en_US", status="DISABLED")
    items = store.table.batch_get(
        [changes_key("order_update"), changes_key("other"), {"pk": "OUT#x", "sk": "OUTBOUND"}]
    )

    assert TemplateChanges.from_items("order_update", items).announced == {"status:en_US": Announced("DISABLED", 1)}
    assert TemplateChanges.from_items("other", items) == TemplateChanges("other")
