"""Real test servers for the engine: skipped where the program is missing, except in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import fact_servers
from tests.servers import Running, ServerMissing, started


@pytest.fixture
def real_server(request: pytest.FixtureRequest) -> Iterator[Running]:
    try:
        with started(request.param) as server:
            yield server
    except ServerMissing as missing:
        if os.environ.get("CI"):
            raise  # CI installs every test server (.ci/run): a missing one is a failure there
        pytest.skip(str(missing))


@pytest.fixture
def fact_server(request: pytest.FixtureRequest) -> Iterator[Running]:
    """A server of tests/fact_servers.py: the same programs, configured safely or not."""
    try:
        with fact_servers.started(request.param) as server:
            yield server
    except ServerMissing as missing:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(missing))
