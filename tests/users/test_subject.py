"""Subject identifiers: public is the user id; pairwise is stable per sector, unlinkable across."""

from __future__ import annotations

from app.clients.models import Client
from app.users.subject import SubjectService


def _client(subject_type: str, sector: str | None = None) -> Client:
    registration = {"subject_type": subject_type}
    if sector:
        registration["sector_identifier"] = sector
    return Client(client_id="c", registration=registration)


def test_public_subject_is_the_user_id():
    assert SubjectService(b"secret").subject("user-1", _client("public")) == "user-1"


def test_pairwise_subject_is_stable_per_sector_and_differs_across_sectors_and_secrets():
    service = SubjectService(b"secret")
    shop = service.subject("user-1", _client("pairwise", "shop.example.com"))
    assert shop == service.subject("user-1", _client("pairwise", "shop.example.com"))
    assert shop != service.subject("user-1", _client("pairwise", "bank.example.com"))
    assert shop != service.subject("user-2", _client("pairwise", "shop.example.com"))
    assert shop != SubjectService(b"other").subject(
        "user-1", _client("pairwise", "shop.example.com")
    )
    assert "user-1" not in shop and len(shop) == 43
