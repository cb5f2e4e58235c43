"""The budgets of a login page's tries: what anonymous browsers may start.

Anyone may open a login page, so its tries (each one an authentication request: a QR code to
scan, or a push to the user typed in) are counted against budgets of the browser, the network
address and the page — never against what authenticated clients rely on (a stranger must not
lock a customer out of CIBA, nor fill the requests table). The per-user push cap of
app/ciba/limits.py still applies on top, to protect the phone.

Behind a reverse proxy the address is the one uvicorn takes from ``X-Forwarded-For`` when the
proxy is trusted (``FORWARDED_ALLOW_IPS``); see docs/operations.md.
"""

from __future__ import annotations

from fastapi import Request

from app import ratelimit
from app.authorize.models import StoredAuthorization
from app.ratelimit import Budget
from app.settings import Settings
from app.storage.db import Database

BUSY = "Too many sign-in attempts {from_}; wait a minute and try again."


def budgets(settings: Settings, page: StoredAuthorization, address: str) -> list[Budget]:
    window = settings.rate_limit_window_seconds
    return [
        Budget(
            "login-page",
            page.id,
            settings.login_page_max_tries,
            settings.login_page_lifetime,
            "Too many sign-in attempts on this page; go back to the application and start again.",
        ),
        Budget(
            "login-browser",
            page.browser_hash or page.id,
            settings.rate_limit_login_per_browser,
            window,
            BUSY.format(from_="from this browser"),
        ),
        Budget(
            "login-address",
            address,
            settings.rate_limit_login_per_address,
            window,
            BUSY.format(from_="from your network"),
        ),
    ]


async def admit(
    db: Database, settings: Settings, request: Request, page: StoredAuthorization
) -> None:
    """Count one try of ``page``, or raise ``TooManyRequests`` when a budget is spent."""
    address = request.client.host if request.client else "unknown"
    spending = budgets(settings, page, address)
    await ratelimit.check(db, spending)
    await ratelimit.spend(db, spending)
