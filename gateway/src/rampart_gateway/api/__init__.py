"""The public API, one package per domain (each a ``operations.Domain``), assembled by ``app.py``."""
