"""A small asyncio HTTP/1.1 client for the harness (the venv has no httpx or aiohttp).

One connection per request (`Connection: close`), so no idle connection is left on a worker; bodies
by Content-Length, chunked or until EOF. JSON in and out.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def json(self) -> Any:
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None


class HTTPError(Exception):
    """No HTTP answer at all (refused, reset, timed out)."""


def _dechunk(body: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            break
        size = int(body[pos:end].split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += body[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2
    return bytes(out)


async def request(method: str, url: str, *, token: str | None = None, json: Any = None,
                  timeout: float = 10.0, headers: dict[str, str] | None = None) -> Response:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    body = orjson.dumps(json) if json is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close", "Accept: application/json",
             f"Content-Length: {len(body)}"]
    if json is not None:
        lines.append("Content-Type: application/json")
    if token:
        lines.append(f"Authorization: Token {token}")
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    started = time.monotonic()

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(raw)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()

    try:
        data = await asyncio.wait_for(exchange(), timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        raise HTTPError(f"{type(exc).__name__}: {exc}".strip(": ")) from None
    seconds = time.monotonic() - started
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/"):
        raise HTTPError(f"not an HTTP answer ({len(data)} bytes)")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        found[key.strip().lower()] = value.strip()
    if found.get("transfer-encoding", "").lower() == "chunked":
        rest = _dechunk(rest)
    elif "content-length" in found:
        rest = rest[: int(found["content-length"])]
    return Response(int(status_line.split()[1]), rest, found, seconds)
