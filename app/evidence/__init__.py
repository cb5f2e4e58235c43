"""Evidence for disputes: what a device signed, kept apart from the hot request rows."""
