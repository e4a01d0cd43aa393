"""The alert-preference operations: routes and OpenAPI entries, each with the scope it enforces."""

from __future__ import annotations

from rampart_gateway.api.alerts import schemas
from rampart_gateway.api.alerts.routes import get_preferences, patch_preferences, put_preferences
from rampart_gateway.operations import Operation

TAG = "alerts"
PATH = "/api/v1/alerts/preferences"
READ, WRITE = "reports:read", "reports:write"

OPERATIONS = (
    Operation(
        "GET",
        PATH,
        get_preferences,
        "Which changes between two scans send the scan.changed webhook (the defaults until changed)",
        TAG,
        scope=READ,
        response=schemas.AlertPreferencesView,
    ),
    Operation(
        "PUT",
        PATH,
        put_preferences,
        "Replace the alert preferences: kinds and fields not given take their defaults",
        TAG,
        scope=WRITE,
        body=schemas.AlertPreferencesPut,
        response=schemas.AlertPreferencesView,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "PATCH",
        PATH,
        patch_preferences,
        "Change some alert preferences: only the kinds and fields given",
        TAG,
        scope=WRITE,
        body=schemas.AlertPreferencesPatch,
        response=schemas.AlertPreferencesView,
        errors=("VALIDATION_ERROR",),
    ),
)
