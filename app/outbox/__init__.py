"""The durable outbox: side effects that leave the server after a commit, delivered with retries."""
