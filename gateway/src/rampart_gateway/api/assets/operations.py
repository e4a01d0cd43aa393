"""The asset operations: routes and OpenAPI entries, each with the scope it enforces.

Assets are read with ``threats:read``, like the incidents that link them and the findings they
count: no separate scope, so every key that reads findings reads the hosts they are on.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from rampart_gateway.api.assets import schemas
from rampart_gateway.api.assets.queries import ListAssetsQuery
from rampart_gateway.api.assets.routes import get_asset, list_assets
from rampart_gateway.operations import Operation

OPERATIONS = (
    Operation(
        "GET",
        "/api/v1/assets",
        list_assets,
        "List the hosts your scans have seen: open ports and services now, OS hint, open findings",
        "assets",
        scope="threats:read",
        response=schemas.AssetList,
        query=ListAssetsQuery,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        "/api/v1/assets/{asset_id}",
        get_asset,
        "An asset with its closed ports and its port and service history",
        "assets",
        scope="threats:read",
        response=schemas.AssetDetail,
        errors=("ASSET_NOT_FOUND",),
    ),
)

ROUTES: tuple[BaseRoute, ...] = ()
