"""Vulnerabilities: the records (list, read, triage) and the catalog (one CVE, what applies to a product
at a version); feed status for operators."""

from starlette.routing import BaseRoute

from rampart_gateway.api.vulnerabilities.operations import OPERATIONS

ROUTES: tuple[BaseRoute, ...] = ()

__all__ = ["OPERATIONS", "ROUTES"]
