"""The public API: one package per domain, each an ``operations.Domain``, assembled by ``app.py``.

A domain package holds ``routes.py`` (handlers: decode, call a service, encode), ``views.py``
(proto messages as public JSON), ``schemas.py`` (request and response bodies), ``queries.py``
(query and header models) and ``operations.py`` (its ``OPERATIONS`` table, each entry with the
scope its route enforces, and ``ROUTES`` that are not operations, such as WebSocket channels).
Adding a domain: write the package, then add it to ``app.DOMAINS``.
"""
