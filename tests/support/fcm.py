"""A local stand-in for Firebase Cloud Messaging: Google's OAuth token endpoint and the FCM v1
``messages:send`` endpoint, so firebase-admin's real HTTP path runs without the internet."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.http_server import JsonHandler, serve

PROJECT = "backchannel-test"
ACCESS_TOKEN = "stand-in-access-token"


def fcm_error(status: int, code: str, fcm_code: str | None = None) -> tuple[int, dict[str, Any]]:
    details = (
        [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}]
        if fcm_code
        else []
    )
    return status, {
        "error": {"code": status, "message": f"stand-in {code}", "status": code, "details": details}
    }


UNREGISTERED = fcm_error(404, "NOT_FOUND", "UNREGISTERED")
UNAVAILABLE = fcm_error(503, "UNAVAILABLE", "UNAVAILABLE")


@dataclass
class FcmStandIn:
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    send_headers: list[dict[str, str]] = field(default_factory=list)
    token_requests: int = 0
    responses: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def service_account(self, folder: Path) -> Path:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        path = folder / "service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": PROJECT,
                    "private_key_id": "stand-in-key",
                    "private_key": pem,
                    "client_email": f"push@{PROJECT}.iam.gserviceaccount.com",
                    "client_id": "1",
                    "token_uri": f"{self.url}/token",
                }
            )
        )
        return path

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[FcmStandIn]:
        stand_in = cls()

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.read_body()
                if self.path == "/token":
                    with stand_in.lock:
                        stand_in.token_requests += 1
                    self.reply(
                        200,
                        {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"},
                    )
                    return
                if self.path != f"/v1/projects/{PROJECT}/messages:send":
                    self.reply(
                        404, {"error": {"code": 404, "status": "NOT_FOUND", "message": self.path}}
                    )
                    return
                with stand_in.lock:
                    stand_in.sent.append(json.loads(body))
                    stand_in.send_headers.append({k.lower(): v for k, v in self.headers.items()})
                    status, payload = (
                        stand_in.responses.pop(0) if stand_in.responses else (200, None)
                    )
                self.reply(
                    status, payload or {"name": f"projects/{PROJECT}/messages/{len(stand_in.sent)}"}
                )

        with serve(Handler) as url:
            stand_in.url = url
            yield stand_in
