"""The engine as a scan worker runs it: sandbox results for test keys, scope re-checked otherwise.

A shard runs only its block of the scan's hosts and ports. Probes are paced by the scan's
``Pacer`` (the organisation's and the platform's caps and the scan's rate, shared by every
worker through the store), which the engine asks before every probe (``EngineOptions.pacer``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rampart.lib.errors import FailedPrecondition
from rampart_scan.authorise import TargetAuthoriser
from rampart_scan.domain import Block, Scan
from rampart_scan.engine.exclusions import Exclusions, own_listening_ports
from rampart_scan.engine.pacing import Pacer
from rampart_scan.engine.ports import parse_ports
from rampart_scan.engine.scanner import EngineOptions, scan_hosts
from rampart_scan.engine.syn import has_cap_net_raw
from rampart_scan.interfaces import EngineRun
from rampart_scan.sandbox import sandbox_scan
from rampart_scan.settings import ScanSettings


def worker_exclusions(settings: ScanSettings) -> Exclusions:
    """PLATFORM_ENDPOINTS, plus every port this worker listens on, on every local address."""
    ports = own_listening_ports()
    if settings.metrics_port:
        ports |= {settings.metrics_port}
    return Exclusions(settings.platform_endpoint_set(), ports)


def port_ranges(ports: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``"1-3,7"``: a shard's ports as a spec the engine parses."""
    parts: list[str] = []
    start = previous = None
    for port in sorted(ports):
        if previous is not None and port == previous + 1:
            previous = port
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = port
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ",".join(parts)


class ScanEngine:
    """Starts the engine on a scan's spec, or one shard of it (``interfaces.Engine``)."""

    def __init__(
        self,
        authoriser: TargetAuthoriser,
        settings: ScanSettings,
        raw_allowed: Callable[[], bool] = has_cap_net_raw,
    ) -> None:
        self._authoriser = authoriser
        self._settings = settings
        self._raw_allowed = raw_allowed  # may this process open raw sockets (SYN mode)

    def options(self, scan: Scan, ports: str, pacer: Pacer | None) -> EngineOptions:
        spec, options = scan.spec, scan.spec.options
        values: dict[str, Any] = {
            "ports": ports,
            "max_hosts": self._settings.max_hosts_per_scan,
            "os_detection": options.os_detection,
            "service_detection": options.service_detection,
            "ssl_check": options.ssl_check,
            "fast_mode": options.fast_mode,
            "pentest": spec.profile == "pentest",  # the anonymous FTP login (docs/detection.md, Facts)
        }
        return EngineOptions(
            **values,
            protocol="udp" if spec.scan_type == "udp" else "tcp",
            tcp_method="syn" if self._settings.scan_syn and spec.scan_type != "udp" else "connect",
            pacer=pacer,
            rate=spec.rate or None,
        )

    async def start(self, scan: Scan, block: Block | None = None, pacer: Pacer | None = None) -> EngineRun:
        spec = scan.spec
        ports = parse_ports(spec.ports)
        if block is not None:
            ports = ports[block.port_start : block.port_stop]
        engine_options = self.options(scan, spec.ports if block is None else port_ranges(ports), pacer)
        if scan.owner.sandbox:
            return EngineRun(sandbox_scan(list(spec.targets), engine_options))
        if (
            engine_options.protocol == "tcp"
            and engine_options.tcp_method == "syn"
            and not self._raw_allowed()
        ):
            raise FailedPrecondition(
                "SYN scanning is enabled on this worker (SCAN_SYN) but the worker lacks CAP_NET_RAW",
                setting="SCAN_SYN",
                capability="CAP_NET_RAW",
            )
        # Checked again now: the scope may have changed since the scan was accepted.
        hosts = await self._authoriser.authorised_hosts(scan.owner.org_id, list(spec.targets))
        if block is not None:
            hosts = hosts[block.host_start : block.host_stop]
        exclusions = worker_exclusions(self._settings)
        listed = exclusions.listed((host.address for host in hosts), ports)
        return EngineRun(scan_hosts(hosts, engine_options, exclusions), listed)
