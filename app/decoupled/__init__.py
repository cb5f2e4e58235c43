"""Decoupled authentication requests: the one state machine CIBA, headless and QR logins share."""
