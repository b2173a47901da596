"""Carry customers kept before identities existed over to one customer per person (`wacloud migrate
customers`, once after upgrading; safe to run again).

Before, a customer known by phone number and business-scoped user id had two partitions,
`CONTACT#<phone digits>` and `CONTACT#<BSUID>`, each with its own profile and opt-out (written to
both, but an opt-out recorded before the BSUID was known is under the phone number only). Each
profile that names both is linked: the two become one customer, found by either, keeping the latest
opt-out choice (at the same second, the opt-out). Partitions with only one name are found as they
are: nothing to do. Nothing is deleted.

Only the default business's customers (`CONTACT#...`) can be kept that way: another business's
(`BUSINESS#<business>#CONTACT#...`) came with identities, and are neither read nor linked here.
"""

from __future__ import annotations

from dataclasses import dataclass

from wacloud.adapters.store import Store
from wacloud.models.identity import CustomerIdentity


@dataclass
class MigrationReport:
    profiles: int = 0  # customer profiles read
    linked: int = 0  # profiles naming a phone number and a user id, linked into one customer


def migrate_customers(store: Store) -> MigrationReport:
    report = MigrationReport()
    profiles = store.table.scan(
        "begins_with(pk, :contact) AND sk = :profile", {":contact": "CONTACT#", ":profile": "PROFILE"}
    )
    for profile in profiles:
        report.profiles += 1
        identity = CustomerIdentity(
            phone=_text(profile.get("wa_id")),
            user_id=_text(profile.get("user_id")),
            parent_user_id=_text(profile.get("parent_user_id")),
        )
        if identity.phone_key and (identity.user_id or identity.parent_user_id):
            # A number two stored customers had is the one's who used it last.
            store.customers.identities.link(identity, at=int(profile.get("last_inbound_at") or 0))
            report.linked += 1
    return report


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
