"""Fixtures for auth-service's unit tests."""

from __future__ import annotations

import pytest
from auth_fakes import World


@pytest.fixture
def world() -> World:
    """auth-service's use cases over fresh in-memory fakes and a clock that stands still."""
    return World()
