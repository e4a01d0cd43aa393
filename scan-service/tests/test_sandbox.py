"""Sandbox scans simulate results from the request alone: deterministic and never empty-handed."""

from __future__ import annotations

import random

from rampart_scan.sandbox import CATALOGUE, simulated_open_ports


def test_a_spec_covering_a_known_service_always_shows_at_least_one_open_port() -> None:
    wanted = set(range(1, 1025))
    known = {port for port in CATALOGUE if port in wanted}
    for seed in range(500):
        opened = simulated_open_ports(random.Random(seed), wanted)
        assert opened, seed
        assert set(opened) <= known


def test_the_same_seed_gives_the_same_ports_and_a_spec_without_services_none() -> None:
    wanted = set(range(1, 65536))
    assert simulated_open_ports(random.Random(7), wanted) == simulated_open_ports(random.Random(7), wanted)
    assert simulated_open_ports(random.Random(7), {1, 2, 3} - set(CATALOGUE)) == []
