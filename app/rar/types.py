"""The ``authorization_details`` types this server knows (RFC 9396 §2): the built-in payment and
the operator's own, each a JSON Schema compiled once into a validator.

Operators add types with the setting ``authorization_details_types_file``: a JSON object mapping a
type name to its JSON Schema (draft 2020-12). A schema may carry ``"title"`` — the words the phone
shows before the fields, e.g. "Share account data".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

PAYMENT = "payment_initiation"

# RFC 9396 §2.2's common members, allowed on every type.
COMMON = {
    "locations": {"type": "array", "items": {"type": "string", "maxLength": 2000}, "maxItems": 10},
    "actions": {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 10},
    "datatypes": {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 20},
    "identifier": {"type": "string", "maxLength": 200},
    "privileges": {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 10},
}

# Shaped after RFC 9396 §2's example (itself after the Berlin Group / UK Open Banking payment).
PAYMENT_SCHEMA: dict[str, Any] = {
    "title": "Payment",
    "type": "object",
    "required": ["type", "instructedAmount", "creditorName"],
    "additionalProperties": False,
    "properties": {
        **COMMON,
        "type": {"const": PAYMENT},
        "instructedAmount": {
            "type": "object",
            "required": ["currency", "amount"],
            "additionalProperties": False,
            "properties": {
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},  # ISO 4217
                # A decimal string, as in the RFC: a float would round what the user approves.
                "amount": {"type": "string", "pattern": "^(0|[1-9][0-9]{0,14})(\\.[0-9]{1,4})?$"},
            },
        },
        "creditorName": {"type": "string", "minLength": 1, "maxLength": 140},
        "creditorAccount": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "iban": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$"},
                "bic": {"type": "string", "pattern": "^[A-Z0-9]{8}([A-Z0-9]{3})?$"},
                "accountNumber": {"type": "string", "minLength": 1, "maxLength": 34},
            },
        },
        "remittanceInformationUnstructured": {"type": "string", "minLength": 1, "maxLength": 140},
    },
}


@dataclass(frozen=True)
class DetailType:
    name: str
    title: str
    validator: Draft202012Validator


class Registry:
    """The known types by name; built once per settings file (``registry``)."""

    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self.types: dict[str, DetailType] = {}
        for name, schema in schemas.items():
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                raise ValueError(f"authorization_details type {name!r}: {exc.message}") from None
            title = str(schema.get("title") or name)
            self.types[name] = DetailType(name, title, Draft202012Validator(schema))

    def names(self) -> list[str]:
        return sorted(self.types)


@cache
def registry(path: str | None) -> Registry:
    """The built-in payment type plus the operator's (a file of ``{type: schema}``)."""
    schemas: dict[str, dict[str, Any]] = {PAYMENT: PAYMENT_SCHEMA}
    if path:
        extra = json.loads(Path(path).read_text())
        if not isinstance(extra, dict) or not all(isinstance(s, dict) for s in extra.values()):
            raise ValueError("authorization_details_types_file must map type names to schemas")
        schemas.update(extra)
    return Registry(schemas)
