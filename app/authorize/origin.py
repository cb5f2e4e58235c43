"""Where a login page's sign-in comes from, as the phone shows it before the user claims a code
or approves a push: the browser's network (its address cut to a /24 or /48, which says "my
home" or "somewhere else" without naming a device) and, when a trusted proxy adds one, its
coarse location. A relayed code then shows a stranger's network on the victim's phone.
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from app.settings import Settings


def browser_origin(request: Request, settings: Settings) -> dict[str, str]:
    origin: dict[str, str] = {}
    if request.client and (network := coarse_network(request.client.host)):
        origin["network"] = network
    header = settings.client_location_header
    location = request.headers.get(header, "").strip() if header else ""
    if location and location.isprintable():
        origin["location"] = location[:64]
    return origin


def coarse_network(host: str) -> str | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
