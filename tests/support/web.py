"""The redirect flow from a browser's side, over plain HTTP: a web client registered with the
server, and a browser (an httpx client keeping cookies, not following redirects) that opens
/authorize, fills in the login page and returns to the client with a code."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.clients import register

REDIRECT_URI = "http://127.0.0.1:9999/callback"  # never fetched: the test is the client


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def with_pkce(web: WebClient, **extra: Any) -> dict[str, Any]:
    """Authorization parameters with an S256 challenge (for when the code is not redeemed)."""
    _, challenge = pkce_pair()
    return web.params(code_challenge=challenge, code_challenge_method="S256", **extra)


def current_qr(server: Any, page_path: str) -> str:
    """What a login page's QR image says right now (read in the server, as it renders it)."""
    from app.authorize.models import StoredAuthorization

    async def uri(services: Any) -> str:
        async with services.db.session() as session:
            stored = await session.get(StoredAuthorization, page_path.rsplit("/", 1)[1])
        return str(services.qr.uri(await services.requests.get(stored.attempt_id)))

    return str(server.call(uri))


@dataclass
class WebClient:
    client_id: str
    secret: str | None

    @classmethod
    def register(cls, admin: httpx.Client, **metadata: Any) -> WebClient:
        defaults = {
            "client_name": "Web shop",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile email offline_access",
        }
        client = register(admin, **{**defaults, **metadata})
        return cls(client["client_id"], client.get("client_secret"))

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.client_id, self.secret) if self.secret else None

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile",
            "state": "s-" + secrets.token_hex(4),
            **extra,
        }

    def redeem(
        self, http: httpx.Client, code: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> httpx.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        data.update(extra)
        if self.secret is None:
            data["client_id"] = self.client_id
        auth = self.auth or httpx.USE_CLIENT_DEFAULT
        return http.post("/token", data=data, auth=auth, headers=headers)


class Browser:
    """Cookies and the login page's forms, as a person's browser would send them."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=10)

    def close(self) -> None:
        self.http.close()

    def authorize(self, params: dict[str, Any], method: str = "GET") -> httpx.Response:
        if method == "POST":
            response = self.http.post("/authorize", data=params)
            location = response.headers.get("location", "")
            if response.status_code == 303 and location.startswith("/authorize?"):
                return self.http.get(location)  # a browser without our cookies yet
            return response
        return self.http.get("/authorize", params=params)

    def open_login(self, params: dict[str, Any]) -> LoginPage:
        response = self.authorize(params)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith("/login/"), location
        return LoginPage(self, location)


@dataclass
class LoginPage:
    browser: Browser
    path: str

    def get(self) -> httpx.Response:
        return self.browser.http.get(self.path)

    def csrf(self) -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', self.get().text)
        assert match, "the page has no CSRF token"
        return match.group(1)

    def post(self, action: str, **data: str) -> httpx.Response:
        data.setdefault("csrf", self.csrf())
        return self.browser.http.post(f"{self.path}/{action}", data=data)

    def ask(self, username: str) -> httpx.Response:
        return self.post("ask", username=username)

    def number(self) -> str:
        """The number the page asks the user to type on the phone."""
        match = re.search(r'id="number">(\d+)<', self.get().text)
        assert match, "the page shows no number"
        return match.group(1)

    def finish(self) -> httpx.Response:
        return self.post("continue")


def returned(response: httpx.Response) -> dict[str, str]:
    """The parameters a 303 back to the client carries."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def form_post_fields(response: httpx.Response) -> dict[str, str]:
    """The hidden fields of a form_post response page (what the browser would POST back)."""
    assert response.status_code == 200, response.text
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', response.text))


def log_in_at(browser: Browser, url: str, phone: Any, username: str) -> httpx.Response:
    """Follow an authorization URL a client library built, and log in approving on ``phone``;
    the server's answer to the browser (a 303 to the client, or a form_post page)."""
    response = browser.http.get(url)
    assert response.status_code == 303, response.text
    page = LoginPage(browser, response.headers["location"])
    asked = page.ask(username)
    assert asked.status_code == 303, asked.text
    phone.answer("approve", number_match=page.number())
    return page.finish()


def log_in(browser: Browser, web: WebClient, phone: Any, username: str, **extra: Any) -> dict:
    """A whole login with PKCE, approved on ``phone``; the values returned to the client plus
    the ``verifier``."""
    verifier, challenge = pkce_pair()
    page = browser.open_login(
        web.params(code_challenge=challenge, code_challenge_method="S256", **extra)
    )
    asked = page.ask(username)
    assert asked.status_code == 303, asked.text
    phone.answer("approve", number_match=page.number())
    values = returned(page.finish())
    values["verifier"] = verifier
    return values
