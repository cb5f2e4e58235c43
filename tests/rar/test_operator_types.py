"""Operator-registered authorization_details types (BACKCHANNEL_AUTHORIZATION_DETAILS_TYPES_FILE):
advertised, validated against their schema, shown on the phone by their title."""

from __future__ import annotations

import json

from tests.conftest import api_clients, make_settings
from tests.support.ciba import CibaClient, Phone
from tests.support.live import LiveServer

SCHEMAS = {
    "account_information": {
        "title": "Share account data",
        "type": "object",
        "required": ["type", "accounts"],
        "additionalProperties": False,
        "properties": {
            "type": {"const": "account_information"},
            "accounts": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
    }
}


def test_an_operator_type_is_advertised_validated_and_shown(database_url, tmp_path):
    types_file = tmp_path / "types.json"
    types_file.write_text(json.dumps(SCHEMAS))

    def settings(issuer):
        return make_settings(
            database_url, issuer=issuer, authorization_details_types_file=str(types_file)
        )

    with LiveServer.start(settings) as server, api_clients(server.url) as (admin, http):
        metadata = http.get("/.well-known/openid-configuration").json()
        assert metadata["authorization_details_types_supported"] == [
            "account_information",
            "payment_initiation",
        ]
        phone = Phone.enroll(admin, http, server.url, "olga")
        client = CibaClient.register(admin, http)
        bad = client.authorize(
            login_hint="olga",
            authorization_details=json.dumps([{"type": "account_information", "accounts": []}]),
        )
        assert bad.json()["error"] == "invalid_authorization_details"
        good = [{"type": "account_information", "accounts": ["DE02 main"]}]
        client.start(login_hint="olga", authorization_details=json.dumps(good))
        (shown,) = phone.pending()
        assert shown["authorization_details_text"] == ["Share account data: accounts DE02 main"]
