"""OpenID Connect CIBA Core 1.0: ``/bc-authorize``, the CIBA grant, ping and push delivery.

A CIBA request is an authentication request of the decoupled core; this package only says how
one starts (the endpoint, its checks) and how its result leaves (poll, ping, push).
"""
