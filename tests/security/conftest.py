"""The redirect-flow fixtures (a browser, a web client, kim with a phone), shared with
tests/authorize rather than copied."""

from tests.authorize.conftest import browser, phone, web

__all__ = ["browser", "phone", "web"]
