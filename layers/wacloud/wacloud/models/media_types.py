"""The media WhatsApp accepts: MIME types and size limits per kind, and file extensions.

Reference: developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media
(supported media types). A file of the wrong type or size is refused by Graph (131053 and friends);
checking first turns that into a clear rejection before any upload.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaKind:
    mime_types: frozenset[str]
    max_bytes: int


_DOCUMENT_TYPES = frozenset(
    {
        "text/plain",
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)

KINDS: dict[str, MediaKind] = {
    "image": MediaKind(frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "video": MediaKind(frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    "audio": MediaKind(frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * MB),
    "document": MediaKind(_DOCUMENT_TYPES, 100 * MB),
    # 100 KB static, 500 KB animated: which one a WebP is cannot be told from its headers cheaply.
    "sticker": MediaKind(frozenset({"image/webp"}), 500 * 1024),
}

# Our own table rather than `mimetypes`, whose answers depend on the machine's /etc/mime.types.
_BY_EXTENSION = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".3gp": "video/3gpp",
    ".aac": "audio/aac",
    ".amr": "audio/amr",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".txt": "text/plain",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_EXTENSION_OF = {mime: ext for ext, mime in reversed(_BY_EXTENSION.items())} | {"audio/ogg": ".ogg"}
_GENERIC = frozenset({"", "binary/octet-stream", "application/octet-stream"})


def base_type(mime_type: str | None) -> str:
    """'audio/ogg; codecs=opus' -> 'audio/ogg'."""
    return (mime_type or "").split(";", 1)[0].strip().lower()


def mime_type_for(key: str, declared: str | None) -> str:
    """The MIME type of an object: the one it was stored with, unless that says nothing, then by extension."""
    declared_type = base_type(declared)
    if declared_type not in _GENERIC:
        return declared_type
    dot = key.rfind(".")
    return _BY_EXTENSION.get(key[dot:].lower(), "") if dot >= 0 else ""


def extension_for(mime_type: str | None) -> str:
    """'.jpg' for image/jpeg; '' when unknown."""
    return _EXTENSION_OF.get(base_type(mime_type), "")


def problem(kind: str, mime_type: str, size: int) -> str | None:
    """Why WhatsApp would refuse a file of this type and size as `kind` media, or None."""
    rule = KINDS.get(kind)
    if rule is None:
        return f"'{kind}' is not a media kind"
    if mime_type not in rule.mime_types:
        shown = mime_type or "unknown (no Content-Type and no known extension)"
        return f"{kind} media must be one of {', '.join(sorted(rule.mime_types))}, not {shown}"
    if size > rule.max_bytes:
        return f"{kind} media is at most {rule.max_bytes} bytes; this file has {size}"
    if size == 0:
        return "the file is empty"
    return None
