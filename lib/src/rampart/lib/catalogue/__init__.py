"""The one catalogue of cross-cutting names: public error codes, API key scopes, NATS subjects.

Everything else derives from it: the gRPC status a service answers with, the gateway's HTTP
status, the OpenAPI error enum and scope list, auth-service's valid scopes, the JetStream
streams and the NATS permissions. ``lib/tests/test_catalogue.py`` fails when code uses a name
that is not here.
"""

from rampart.lib.catalogue import subjects
from rampart.lib.catalogue.codes import (
    CODE_FOR_GRPC_STATUS,
    CODE_FOR_HTTP_STATUS,
    ERROR_DOMAIN,
    ERRORS,
    ErrorCode,
    error_code,
)
from rampart.lib.catalogue.scopes import ALL_SCOPES, SCOPES, Scope

__all__ = [
    "ALL_SCOPES",
    "CODE_FOR_GRPC_STATUS",
    "CODE_FOR_HTTP_STATUS",
    "ERRORS",
    "ERROR_DOMAIN",
    "SCOPES",
    "ErrorCode",
    "Scope",
    "error_code",
    "subjects",
]
