"""The server's front page."""
