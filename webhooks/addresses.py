"""Where a webhook may send: an http(s) URL whose host resolves to public addresses only. Checked when
a webhook is registered and again before every send, after resolving the name, and the request then
goes to the very address checked (so a name that re-resolves to 127.0.0.1 later, DNS rebinding, gets
nowhere). WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=1 lifts the address rule (tests, local development)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from virtual_office.errors import ServiceError


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (the Host header, the TLS server name)
    port: int
    path: str  # path and query
    addresses: list[str]  # what the host resolved to, each checked


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified
    )


def parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ServiceError("webhook_url_invalid", "The URL is not valid.") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ServiceError("webhook_url_invalid", "The URL must start with http:// or https:// and name a host.")
    if parts.username is not None or parts.password is not None:
        raise ServiceError("webhook_url_invalid", "The URL must not carry a user name or password.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """The URL's target, its host resolved and every address checked; a refusal is a ServiceError
    (`webhook_url_invalid`, `webhook_url_unresolvable`, `webhook_url_private`)."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ServiceError("webhook_url_unresolvable", f"The host {host} could not be resolved.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ServiceError("webhook_url_unresolvable", f"The host {host} could not be resolved.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise ServiceError(
                "webhook_url_private",
                f"The host {host} resolves to {refused[0]}, which is not a public address.",
            )
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)
