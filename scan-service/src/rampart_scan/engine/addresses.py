"""The address tables moved to ``rampart.lib.addresses`` (webhook delivery checks the same ones)."""

from rampart.lib.addresses import (
    COMPATIBLE,
    GLOBAL_UNICAST,
    NAT64,
    NON_GLOBAL,
    IPAddress,
    canonical,
    embedded,
    forms,
    is_global,
)

__all__ = [
    "COMPATIBLE",
    "GLOBAL_UNICAST",
    "NAT64",
    "NON_GLOBAL",
    "IPAddress",
    "canonical",
    "embedded",
    "forms",
    "is_global",
]
