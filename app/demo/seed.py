"""The demo's user and clients, registered through the admin API. Idempotent: a restart finds
them and only gives each secret-based client a fresh secret for this run (secrets are stored as
hashes, so the old one cannot be shown again)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

CIBA = "urn:openid:params:grant-type:ciba"
USER = {
    "username": "demo",
    "name": "Dana Demo",
    "email": "dana@example.com",
    "phone_number": "+441632960000",
    "email_verified": True,
}
SCOPE = "openid profile email phone"
# Who the till's payments go to (docs/flows/payments.md); the IBAN is a well-known test number.
SHOP = {"name": "Corner Shop", "iban": "DE02100100109307118603"}


def clients(issuer: str) -> dict[str, dict[str, Any]]:
    """What each demo client registers, by client_id."""
    notify = f"{issuer}/demo/notify"
    ciba = {
        "grant_types": [CIBA],
        "scope": SCOPE,
        "token_endpoint_auth_method": "client_secret_post",
        "authorization_details_types": ["payment_initiation"],  # the console's and till's payments
    }
    return {
        "demo-poll": {**ciba, "client_name": "Demo call centre (poll)",
                      "backchannel_token_delivery_mode": "poll"},
        "demo-ping": {**ciba, "client_name": "Demo call centre (ping)",
                      "backchannel_token_delivery_mode": "ping",
                      "backchannel_client_notification_endpoint": notify},
        "demo-push": {**ciba, "client_name": "Demo call centre (push)",
                      "backchannel_token_delivery_mode": "push",
                      "backchannel_client_notification_endpoint": notify},
        "demo-till": {**ciba, "client_name": "Demo shop till",
                      "backchannel_token_delivery_mode": "poll"},
        "demo-shop": {"client_name": "Demo shop", "grant_types": ["authorization_code"],
                      "redirect_uris": [f"{issuer}/demo/shop"], "scope": SCOPE,
                      "token_endpoint_auth_method": "none"},
    }  # fmt: skip


@dataclass
class Demo:
    """What the demo pages need: the user's id and this run's client secrets."""

    user_id: str
    secrets: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # client_id -> why not registered


async def seed(api: httpx.AsyncClient, issuer: str) -> Demo:
    demo = Demo(user_id=await _user(api))
    for client_id, metadata in clients(issuer).items():
        found = await api.get(f"/admin/clients/{client_id}")
        if found.status_code == 200:
            answer = await api.patch(
                f"/admin/clients/{client_id}", json={**metadata, "rotate_secret": True}
            )
        else:
            answer = await api.post("/admin/clients", json={**metadata, "client_id": client_id})
        if answer.status_code not in (200, 201):
            # e.g. ping/push behind an https issuer that cannot call itself back on loopback
            demo.skipped[client_id] = answer.json().get("error_description", answer.text)
            continue
        if secret := answer.json().get("client_secret"):
            demo.secrets[client_id] = secret
    return demo


async def _user(api: httpx.AsyncClient) -> str:
    users = (await api.get("/admin/users")).json()
    for user in users:
        if user.get("username") == USER["username"]:
            return str(user["id"])
    created = await api.post("/admin/users", json=USER)
    created.raise_for_status()
    return str(created.json()["id"])


async def enrollment(api: httpx.AsyncClient, user_id: str) -> dict[str, Any]:
    """A fresh single-use enrollment link for the demo user."""
    answer = await api.post(f"/admin/users/{user_id}/enrollments")
    answer.raise_for_status()
    return dict(answer.json())
