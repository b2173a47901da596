"""What the sender does about a failed send, decided by Meta's error code and the HTTP status.

Meta says to branch on `code` (and `error_data.details`), not on HTTP status; the status is only
used when there is no code (a proxy's 502, an empty 503). End User Messaging Social's refusals
(`adapters/social_messaging.ServiceError`) carry Meta's code when AWS relays it, and are otherwise
decided by AWS's error code (`AWS_ERROR_RULES`). The tables below are the single source:
docs/ERRORS.md is generated from them (`make errors-doc`) and a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wacloud.adapters.graph import GraphError, GraphTransportError
from wacloud.runtime.metrics import count, count_by


class Action(StrEnum):
    RETRY = "retry"  # transient: let SQS deliver the document again, later
    FAIL = "fail"  # permanent: record Meta's error, never retry
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 (an action name) token expired: re-read the secret, retry


@dataclass(frozen=True)
class ErrorRule:
    action: Action
    meaning: str
    # Failures a person must act on (account, billing, token, policy): counted in `SendNeedsAttention`.
    needs_human: bool = False
    remedy: str = ""  # what to do instead, where a retry will not do


R, F, T = Action.RETRY, Action.FAIL, Action.REFRESH_TOKEN

ERROR_RULES: dict[int, ErrorRule] = {
    0: ErrorRule(T, "AuthException: the token expired or was invalidated", needs_human=True),
    1: ErrorRule(R, "API unknown: invalid request or a server error"),
    2: ErrorRule(R, "API service: temporary downtime or overload"),
    3: ErrorRule(F, "API method: capability or permission missing", needs_human=True),
    4: ErrorRule(R, "Too many calls: the app's call rate limit"),
    10: ErrorRule(F, "Permission denied", needs_human=True),
    17: ErrorRule(R, "User request limit reached"),
    33: ErrorRule(F, "Parameter value not valid (the business phone number was deleted?)", needs_human=True),
    100: ErrorRule(F, "Invalid parameter: unsupported or misspelled field, bad recipient"),
    190: ErrorRule(T, "Access token expired", needs_human=True),
    341: ErrorRule(R, "Application limit reached"),
    368: ErrorRule(F, "Temporarily blocked for policy violations", needs_human=True),
    80007: ErrorRule(R, "Rate limit of the WhatsApp Business Account"),
    130429: ErrorRule(R, "Throughput limit of the phone number (80 messages/s by default)"),
    130472: ErrorRule(F, "The user is part of a marketing experiment"),
    130497: ErrorRule(F, "The business may not message users in this country", needs_human=True),
    131000: ErrorRule(R, "Something went wrong (unknown error)"),
    131005: ErrorRule(F, "Access denied", needs_human=True),
    131008: ErrorRule(F, "A required parameter is missing"),
    131009: ErrorRule(F, "A parameter value is not valid (also: reaction to a message over 30 days old)"),
    131016: ErrorRule(R, "Service unavailable"),
    131021: ErrorRule(F, "The recipient cannot be the sender"),
    131026: ErrorRule(F, "Message undeliverable (not on WhatsApp, old app, terms not accepted)"),
    131030: ErrorRule(F, "The recipient is not in the test number's allowed list"),
    131031: ErrorRule(F, "The business account is locked or restricted", needs_human=True),
    131037: ErrorRule(F, "The display name is not approved", needs_human=True),
    131042: ErrorRule(F, "Business eligibility: payment issue", needs_human=True),
    131044: ErrorRule(F, "Business eligibility: payment issue", needs_human=True),
    131045: ErrorRule(F, "Phone number registration or certificate error", needs_human=True),
    131047: ErrorRule(F, "Re-engagement: more than 24 hours since the user last wrote; send a template"),
    131048: ErrorRule(F, "Spam rate limit: sending restricted because of quality", needs_human=True),
    131049: ErrorRule(F, "Not delivered to keep the ecosystem healthy (per-user marketing limit)"),
    131050: ErrorRule(
        F,
        "The user stopped marketing messages",
        remedy="do not send them marketing templates until they resume (their `user_preferences` webhook)",
    ),
    131051: ErrorRule(F, "Unsupported message type"),
    131052: ErrorRule(F, "Media download error"),
    131053: ErrorRule(F, "Media upload error (often a MIME type mismatch)"),
    131056: ErrorRule(R, "Pair rate limit: too many messages to this user in a short time"),
    131057: ErrorRule(R, "The account is in maintenance mode (e.g. a throughput upgrade)"),
    131062: ErrorRule(
        F,
        "Business-scoped user id recipients are not supported for this message (authentication templates)",
        remedy="send it to the customer's phone number, or use a template of another category",
    ),
    131063: ErrorRule(
        F,
        "Marketing messages are disabled on the Cloud API for this WhatsApp Business Account",
        needs_human=True,
        remedy="send it through the Marketing Messages API (the contract's marketing-messages option), or turn "
        "the account's `disable_marketing_messages_on_cloud_api` setting off",
    ),
    131064: ErrorRule(F, "Messaging limit reached because of template classification", needs_human=True),
    132000: ErrorRule(
        F,
        "The template's parameters do not match its definition (count)",
        remedy="send the parameters the template takes (`wacloud templates list`)",
    ),
    132001: ErrorRule(
        F,
        "The template does not exist in this language, or is not approved",
        remedy="check the name and language code, and that the template is APPROVED (`wacloud templates list`)",
    ),
    132012: ErrorRule(
        F,
        "A template parameter's format does not match the template (type, named or positional)",
        remedy="send each parameter in the type and form the template takes (`wacloud templates list`)",
    ),
    132015: ErrorRule(
        F,
        "The template is paused (low quality)",
        remedy="send another template, or wait until it is resumed (its status webhook says APPROVED again)",
    ),
    132016: ErrorRule(
        F,
        "The template is disabled (paused too many times)",
        remedy="send another template; a disabled template does not come back",
    ),
    132069: ErrorRule(R, "Flow throttled: too many messages with this flow in the last hour"),
    133004: ErrorRule(R, "Registration server temporarily unavailable"),
    133015: ErrorRule(R, "The phone number was recently deleted; try later"),
    133016: ErrorRule(R, "Register/deregister rate limit"),
    135000: ErrorRule(F, "Generic user error"),
    137000: ErrorRule(F, "The recipient's identity key hash does not match"),
}

# Families: a code not listed above but inside one of these ranges.
RANGE_RULES: tuple[tuple[int, int, ErrorRule], ...] = (
    (200, 299, ErrorRule(F, "API permission missing", needs_human=True)),
    (132000, 132999, ErrorRule(F, "Template error (missing, paused, disabled, wrong parameters)")),
    (133000, 133999, ErrorRule(F, "Phone number registration error", needs_human=True)),
)
UNKNOWN_CODE = ErrorRule(F, "A code this table does not know: not retried, recorded with Meta's text")

# End User Messaging Social's own errors, for an answer that names no Meta code. A send's 5xx never
# gets here: AWS may have handed the message to Meta first, so the adapter makes it a lost answer
# (`SendMaybeTaken`: `unconfirmed`, never sent again); a media call's 5xx is retried as Graph's bare
# 5xx are. A refusal an operator can fix without changing the document (IAM) is retried too, so a
# DLQ redrive delivers it once fixed, where failing would lose it.
MAYBE_SENT = (
    "; on a message send: `unconfirmed`, never sent again (AWS may have handed it to Meta before it failed: "
    "its first status confirms it)"
)
AWS_ERROR_RULES: dict[str, ErrorRule] = {
    "ThrottledRequestException": ErrorRule(R, "AWS throttled the call (the account's request rate)"),
    "InternalServiceException": ErrorRule(R, "AWS failed with an unknown error: a media call is retried" + MAYBE_SENT),
    "DependencyException": ErrorRule(
        R, "A service AWS depends on (Meta's API) failed or did not answer: a media call is retried" + MAYBE_SENT
    ),
    "ValidationException": ErrorRule(F, "The request breaks AWS's constraints (the message JSON, an id's form)"),
    "InvalidParametersException": ErrorRule(F, "A parameter of the request is not valid"),
    "AccessDeniedException": ErrorRule(
        R,
        "The function's role may not make this call",
        needs_human=True,
        remedy="grant the action on the number's phone-number-id (template.yaml), then redrive the DLQ",
    ),
    "AccessDeniedByMetaException": ErrorRule(
        F,
        "Meta refused AWS access to the WhatsApp Business Account",
        needs_human=True,
        remedy="check the account's link to AWS in the End User Messaging Social console",
    ),
    "ResourceNotFoundException": ErrorRule(
        F,
        "AWS knows no such phone number id (or media id)",
        needs_human=True,
        remedy="check the number's eum_phone_number_id (`wacloud numbers show`)",
    ),
    "ParamValidationError": ErrorRule(
        F,
        "botocore refused the parameters before any request (the number has no AWS phone number id)",
        needs_human=True,
        remedy="check the number's eum_phone_number_id (`wacloud numbers show`)",
    ),
}
# A ValidationException naming the API version: every send of the number would fail the same way
# until its `meta_api_version` (or GraphApiVersion) is one AWS takes, so it waits for that fix.
AWS_VERSION_REFUSED = ErrorRule(
    R,
    "AWS does not accept the metaApiVersion sent",
    needs_human=True,
    remedy="set the number's meta_api_version to one AWS lists (`wacloud numbers add --api-version`)",
)


def rule_for_code(code: int) -> ErrorRule:
    if code in ERROR_RULES:
        return ERROR_RULES[code]
    for low, high, rule in RANGE_RULES:
        if low <= code <= high:
            return rule
    return UNKNOWN_CODE


def rule_for(error: GraphError | GraphTransportError) -> ErrorRule:
    """The rule for a failed send."""
    if isinstance(error, GraphTransportError):
        return ErrorRule(R, "No answer from Graph (connection failed or timed out)")
    if error.code is not None:
        return rule_for_code(error.code)
    aws_code = getattr(error, "aws_code", None)  # an End User Messaging Social refusal
    if aws_code is not None:
        return _aws_rule(aws_code, error.title or "", error.http_status)
    if error.http_status == 401:
        return ErrorRule(T, "HTTP 401 without a Meta error code", needs_human=True)
    if error.http_status >= 500 or error.http_status == 429:
        return ErrorRule(R, f"HTTP {error.http_status} without a Meta error code")
    return ErrorRule(F, f"HTTP {error.http_status} without a Meta error code")


def _aws_rule(aws_code: str, message: str, http_status: int) -> ErrorRule:
    if aws_code == "ValidationException" and "metaapiversion" in message.lower():
        return AWS_VERSION_REFUSED
    if aws_code in AWS_ERROR_RULES:
        return AWS_ERROR_RULES[aws_code]
    if http_status >= 500 or http_status == 429:
        return ErrorRule(R, f"AWS error {aws_code} (HTTP {http_status})")
    if http_status in (401, 403):  # credentials or IAM (an expired session, a missing grant)
        return ErrorRule(R, f"AWS error {aws_code} (HTTP {http_status})", needs_human=True)
    return ErrorRule(F, f"AWS error {aws_code} (HTTP {http_status})")


def action_for(error: GraphError | GraphTransportError) -> Action:
    """The action for a failed send."""
    return rule_for(error).action


def count_error(error: GraphError) -> None:
    """Count a refused send by its code (a dimension: codes are few; AWS's when Meta's is not
    named), and those a person must fix."""
    if rule_for(error).needs_human:
        count("SendNeedsAttention")
    code = error.code if error.code is not None else getattr(error, "aws_code", None) or error.http_status
    count_by("GraphError", dimension="error_code", value=str(code))


def markdown_table() -> str:
    """The table as docs/ERRORS.md shows it."""
    lines = ["| code | action | needs a person | meaning | remedy |", "| --- | --- | --- | --- | --- |"]
    rows = [(str(code), rule) for code, rule in sorted(ERROR_RULES.items())]
    rows += [(f"{low}-{high} (others)", rule) for low, high, rule in RANGE_RULES]
    for code, rule in [*rows, ("any other", UNKNOWN_CODE)]:
        human = "yes" if rule.needs_human else ""
        lines.append(f"| {code} | {rule.action.value} | {human} | {rule.meaning} | {rule.remedy} |")
    lines += [
        "",
        "End User Messaging Social's own errors, when its message names no Meta code (`(#131047) ...`):",
        "",
        "| AWS error | action | needs a person | meaning | remedy |",
        "| --- | --- | --- | --- | --- |",
    ]
    aws = [*AWS_ERROR_RULES.items(), ("ValidationException naming metaApiVersion", AWS_VERSION_REFUSED)]
    for name, rule in aws:
        human = "yes" if rule.needs_human else ""
        lines.append(f"| {name} | {rule.action.value} | {human} | {rule.meaning} | {rule.remedy} |")
    return "\n".join(lines) + "\n"
