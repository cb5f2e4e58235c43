"""The user's phone: enrollment, device assertions, pending requests, decisions, the stream."""
