"""Demo mode at start: seed through the admin API, then tell the terminal what to open where."""

from __future__ import annotations

import logging
import sys
from typing import Any

from app.demo.api import own_api
from app.demo.notifications import Mailbox
from app.demo.seed import USER, seed
from app.settings import Settings


async def start_demo(app: Any, settings: Settings) -> None:
    # The pages' calls through the admin API are ours, not news: keep the terminal for the URLs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    api = own_api(app, settings.issuer, token)
    app.state.demo_api = api
    app.state.demo_mailbox = Mailbox()
    app.state.demo = demo = await seed(api, settings.issuer)
    skipped = "".join(f"  (not registered: {c}: {why})\n" for c, why in demo.skipped.items())
    sys.stderr.write(
        f"\nBackchannel demo at {settings.issuer}/\n"
        f"  1. open {settings.issuer}/ and enroll the web authenticator for "
        f"{USER['name']} (a second browser window, or a phone reaching this address over https)\n"
        f"  2. agent console: {settings.issuer}/demo/agent\n"
        f"     till:          {settings.issuer}/demo/terminal\n"
        f"     demo shop:     {settings.issuer}/demo/shop\n{skipped}\n"
    )
    sys.stderr.flush()


async def stop_demo(app: Any) -> None:
    api = getattr(app.state, "demo_api", None)
    if api is not None:
        await api.aclose()
