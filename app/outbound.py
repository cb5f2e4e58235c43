"""Rules for URLs the server itself calls (client notification endpoints, ``jwks_uri``).

Such URLs are an SSRF vector: a client could point us at cloud metadata or an internal service.
Only https is allowed, http only on loopback hosts (RFC 8252 §8.3); loopback or private
addresses only while the issuer is itself a loopback development issuer or an operator allowed
it explicitly; link-local (cloud metadata), multicast and unspecified addresses never.

The rules apply to what a host name *resolves to*, checked when the client registers and again
before every call; the call then connects to the very address that was checked (TLS still
verifies the certificate against the host name), so DNS rebinding between check and connect
gains nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx

from app.settings import Settings, is_loopback_host

RESOLVE_TIMEOUT = 5.0


def private_targets_allowed(settings: Settings) -> bool:
    return settings.issuer_is_loopback or settings.allow_private_notification_endpoints


def classify_address(address: str) -> str:
    """``never`` for link-local (cloud metadata), multicast, unspecified and reserved addresses;
    ``internal`` for loopback and private ranges; ``public`` for the rest."""
    ip = ipaddress.ip_address(address.strip("[]"))
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "never"
    if ip.is_private or ip.is_loopback:
        return "internal"
    return "public"


def check_outbound_url(url: str, settings: Settings) -> SplitResult:
    """Validate the shape of an outbound URL; raises ValueError with a client-facing reason."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("must be an absolute https URL")
    if parts.fragment:
        raise ValueError("must not contain a fragment")
    if parts.username or parts.password:
        raise ValueError("must not contain credentials")
    loopback = is_loopback_host(host)
    if parts.scheme == "http" and not loopback:
        raise ValueError("must use https (http is allowed only on loopback hosts)")
    kind = classify_address(host) if _is_ip_literal(host) else "public"
    if kind == "never":
        raise ValueError("must not point at a link-local, multicast or unspecified address")
    if (loopback or kind == "internal") and not private_targets_allowed(settings):
        raise ValueError(
            "must not point at a loopback or private address (allowed only with a loopback "
            "issuer or BACKCHANNEL_ALLOW_PRIVATE_NOTIFICATION_ENDPOINTS)"
        )
    return parts


def _check_address(address: str, loopback_name: bool, settings: Settings) -> None:
    kind = classify_address(address)
    if kind == "never":
        raise ValueError("must not point at a link-local, multicast or unspecified address")
    if kind == "internal" and not private_targets_allowed(settings):
        raise ValueError(
            "resolves to a loopback or private address (allowed only with a loopback issuer or "
            "BACKCHANNEL_ALLOW_PRIVATE_NOTIFICATION_ENDPOINTS)"
        )
    if loopback_name and not ipaddress.ip_address(address).is_loopback:
        raise ValueError("a loopback host name must resolve to a loopback address")


async def resolve(url: str, settings: Settings) -> tuple[SplitResult, str]:
    """Check ``url`` and every address its host resolves to; returns the address to connect to.
    Raises ValueError (refused) or OSError (the name does not resolve now)."""
    parts = check_outbound_url(url, settings)
    host = parts.hostname
    assert host is not None
    if _is_ip_literal(host):
        return parts, host.strip("[]")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
    )
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host} has no addresses")
    for address in addresses:  # one bad address refuses the name: the resolver picks, not us
        _check_address(address, is_loopback_host(host), settings)
    return parts, addresses[0]


async def check_resolvable(url: str, settings: Settings) -> None:
    """At registration: refuse a URL whose host resolves to a forbidden address. A name that
    does not resolve yet is accepted; every call checks again."""
    with contextlib.suppress(OSError, TimeoutError):
        await resolve(url, settings)


@dataclass(frozen=True)
class Pinned:
    """A request aimed at a checked address, with the URL's host kept for HTTP and TLS."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, Any]


async def pin(url: str, settings: Settings) -> Pinned:
    parts, address = await resolve(url, settings)
    host = parts.hostname
    assert host is not None
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    target = parts._replace(netloc=netloc).geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return Pinned(target, {"Host": host_header}, {"sni_hostname": host})


async def pinned_request(
    http: httpx.AsyncClient, method: str, url: str, settings: Settings, **kwargs: Any
) -> httpx.Response:
    """``http.request`` to ``url``, connecting only to an address that passed the rules. Never
    follows redirects. Raises ValueError when the URL is refused, httpx/OS errors otherwise."""
    pinned = await pin(url, settings)
    headers = {**kwargs.pop("headers", {}), **pinned.headers}
    return await http.request(
        method,
        pinned.url,
        headers=headers,
        extensions=pinned.extensions,
        follow_redirects=False,
        **kwargs,
    )


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
