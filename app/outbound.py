"""Rules for URLs the server itself calls (client notification endpoints, ``jwks_uri``).

Such URLs are an SSRF vector: a client could point us at cloud metadata or an internal service.
Only https is allowed, http only on loopback hosts (RFC 8252 §8.3); loopback or private
addresses only while the issuer is itself a loopback development issuer or an operator allowed
it explicitly; link-local (cloud metadata), multicast and unspecified addresses never.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from app.settings import Settings, is_loopback_host


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


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
