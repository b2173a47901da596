"""A multipart/form-data body that streams its file (Graph's media upload)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import IO


class MultipartBody:
    """A multipart/form-data body that streams its file: requests sends it with a Content-Length,
    reading it chunk by chunk, so a 100 MB document never sits in memory."""

    def __init__(self, *, fields: dict[str, str], file: IO[bytes], length: int, filename: str, mime_type: str) -> None:
        self._file = file
        boundary = secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        quoted = filename.replace("\\", "_").replace('"', "_").replace("\r", "_").replace("\n", "_")
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
            f"Content-Type: {mime_type}\r\n\r\n"
        ).encode()
        self._parts: Iterator[IO[bytes] | bytes] = iter([head, file, f"\r\n--{boundary}--\r\n".encode()])
        self._length = len(head) + length + len(f"\r\n--{boundary}--\r\n")
        self._current: IO[bytes] | bytes | None = next(self._parts)

    def close(self) -> None:
        """Close the file (whether or not it was read to the end)."""
        self._file.close()

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(64 * 1024):
            yield chunk

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when `size` is negative, as file objects do)."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self._read_chunk(64 * 1024), b""))
        return self._read_chunk(size or 64 * 1024)

    def _read_chunk(self, size: int) -> bytes:
        while self._current is not None:
            if isinstance(self._current, bytes):
                chunk, self._current = self._current, None
            else:
                chunk = self._current.read(size)
                if not chunk:
                    self._current = None
            if self._current is None:
                self._current = next(self._parts, None)
            if chunk:
                return chunk
        return b""
