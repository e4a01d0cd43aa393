"""The assistant's domain types.

None yet: the assistant (ask, explain, narrative reports, grounded in the caller's own scans and
findings) is built by a later issue. Its dataclasses go here, with their rules as methods and
their errors as rampart.lib.errors subclasses (see docs/adding-an-endpoint.md).
"""
