"""Backchannel: an OpenID Provider for decoupled authentication."""

__version__ = "0.1.0"
