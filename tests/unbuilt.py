"""Checks that a servicer builds exactly the RPCs it claims and the rest answer UNIMPLEMENTED."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import ServiceDescriptor


class RecordingContext:
    """Just enough of a servicer context to see the status a handler sets."""

    def __init__(self) -> None:
        self.code: grpc.StatusCode | None = None

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        pass


def assert_only_built(servicer: Any, base: type, service: ServiceDescriptor, built: set[str]) -> None:
    """``built`` are the RPCs ``servicer`` overrides; every other one answers UNIMPLEMENTED."""
    methods = set(service.methods_by_name)
    overridden = {name for name in methods if getattr(type(servicer), name) is not getattr(base, name)}
    assert overridden == built
    for name in sorted(methods - built):
        context = RecordingContext()
        with pytest.raises(NotImplementedError):
            getattr(servicer, name)(None, context)
        assert context.code is grpc.StatusCode.UNIMPLEMENTED, name
