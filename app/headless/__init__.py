"""The headless flow: a CIBA request driven over a WebSocket, whose result leaves through it."""
