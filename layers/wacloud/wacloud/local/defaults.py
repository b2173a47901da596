"""The local run's business: its credentials and its two numbers (the default one on the Cloud API,
a second on End User Messaging Social), documented defaults each overridable by a variable."""

from __future__ import annotations

import os

from wacloud.local.meta.business_numbers import CLOUD_API, EUM, BusinessNumber, aws_hex
from wacloud.local.meta.webhooks import DEFAULT_DISPLAY_NUMBER, DEFAULT_WABA_ID

# The local run's credentials and number: documented defaults, overridable by these variables.
LOCAL_DEFAULTS = {
    "access_token": ("WACLOUD_LOCAL_ACCESS_TOKEN", "local-access-token"),
    "app_secret": ("WACLOUD_LOCAL_APP_SECRET", "local-app-secret"),
    "verify_token": ("WACLOUD_LOCAL_VERIFY_TOKEN", "local-verify-token"),
    "phone_number_id": ("WACLOUD_LOCAL_PHONE_NUMBER_ID", "100000000000001"),
    # The second number, on End User Messaging Social: Meta's id, its WABA, AWS's id.
    "eum_phone_number_id": ("WACLOUD_LOCAL_EUM_PHONE_NUMBER_ID", "100000000000002"),
    "eum_waba_id": ("WACLOUD_LOCAL_EUM_WABA_ID", "200000000000002"),
    "eum_aws_phone_number_id": (
        "WACLOUD_LOCAL_EUM_AWS_PHONE_NUMBER_ID",
        "phone-number-id-" + aws_hex("phone-number-id", "100000000000002"),
    ),
}
EUM_DISPLAY_NUMBER = "15550783882"


def local_setting(name: str) -> str:
    variable, default = LOCAL_DEFAULTS[name]
    return os.environ.get(variable) or default


def local_numbers(default_transport: str = CLOUD_API) -> list[BusinessNumber]:
    """The business's numbers here: the default one (Cloud API unless told), and one on EUM."""
    default_id = local_setting("phone_number_id")
    default_eum_id = "phone-number-id-" + aws_hex("phone-number-id", default_id)
    default = BusinessNumber(
        default_id,
        DEFAULT_WABA_ID,
        DEFAULT_DISPLAY_NUMBER,
        EUM if default_transport == EUM else CLOUD_API,
        default_eum_id if default_transport == EUM else "",
    )
    second = BusinessNumber(
        local_setting("eum_phone_number_id"),
        local_setting("eum_waba_id"),
        EUM_DISPLAY_NUMBER,
        EUM,
        local_setting("eum_aws_phone_number_id"),
    )
    return [default, second]
