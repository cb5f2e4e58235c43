"""Plain words for a phone: what the user approves, one line per detail
("Pay 42.10 EUR to Corner Shop, ref 8841")."""

from __future__ import annotations

from typing import Any

from app.rar.types import PAYMENT, Registry, registry
from app.settings import Settings

MAX_VALUE = 60


def in_words(details: list[dict[str, Any]] | None, settings: Settings) -> list[str]:
    """What the phone and the login page show; empty without details."""
    if not details:
        return []
    return describe(details, registry(settings.authorization_details_types_file))


def describe(details: list[dict[str, Any]], types: Registry) -> list[str]:
    return [_one(detail, types) for detail in details]


def _one(detail: dict[str, Any], types: Registry) -> str:
    if detail["type"] == PAYMENT:
        return _payment(detail)
    known = types.types.get(detail["type"])
    title = known.title if known else detail["type"]
    fields = [f"{k} {_text(v)}" for k, v in detail.items() if k != "type"]
    return f"{title}: {', '.join(fields)}" if fields else title


def _payment(detail: dict[str, Any]) -> str:
    amount = detail["instructedAmount"]
    words = f"Pay {amount['amount']} {amount['currency']} to {detail['creditorName']}"
    account = detail.get("creditorAccount") or {}
    number = account.get("iban") or account.get("accountNumber")
    if number:
        words += f" ({number})"
    if ref := detail.get("remittanceInformationUnstructured"):
        words += f", ref {ref}"
    return words


def _text(value: Any) -> str:
    if isinstance(value, list):
        text = ", ".join(_text(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k} {_text(v)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
