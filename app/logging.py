"""Structured logging that never prints secrets, tokens or codes.

Every record passes a redaction filter before any handler formats it: query and form parameters
that carry credentials, Authorization header values and anything shaped like a JWT are masked,
whoever logged them (our code, uvicorn's access log, a library).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

SENSITIVE_PARAMS = (
    "client_secret", "client_assertion", "code", "code_verifier", "refresh_token",
    "access_token", "id_token", "token", "assertion", "request", "login_hint_token",
    "id_token_hint", "enrollment_code", "decision_jwt", "user_code", "password",
    "client_notification_token", "admin_token", "login_hint", "request_uri", "csrf",
)  # fmt: skip
_PARAM = re.compile(r"\b(" + "|".join(SENSITIVE_PARAMS) + r")=([^&\s\"']+)", re.IGNORECASE)
_JSON_MEMBER = re.compile(
    r"([\"'](?:" + "|".join(SENSITIVE_PARAMS) + r")[\"']\s*:\s*[\"'])([^\"']+)", re.IGNORECASE
)
_AUTH = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")

# Standard LogRecord attributes; everything else on a record came in through ``extra``.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


def redact(text: str) -> str:
    text = _JWT.sub("[jwt]", text)
    text = _AUTH.sub(r"\1 [redacted]", text)
    text = _PARAM.sub(r"\1=[redacted]", text)
    return _JSON_MEMBER.sub(r"\1[redacted]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "backchannel.access":  # method, path, status: built to hold no secret
            return True
        record.msg, record.args = redact(record.getMessage()), None
        for name, value in list(vars(record).items()):
            if name not in _RESERVED and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """What a record carries beyond the message (``extra=``): a refusal's error and reason."""
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and v is not None}


class TextFormatter(logging.Formatter):
    """One line for a person: the message, then each extra as ``key=value``, as the JSON form
    carries them (without them a refusal said only "request refused", never why)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extras = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in _extras(record).items())
        return f"{line} {extras}" if extras else line


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The scheduler announces every job run at INFO; our own job wrapper logs what matters.
    logging.getLogger("apscheduler").setLevel(max(root.level, logging.WARNING))
