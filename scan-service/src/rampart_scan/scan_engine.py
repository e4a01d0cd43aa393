"""The engine as a scan worker runs it: sandbox results for test keys, scope re-checked otherwise."""

from __future__ import annotations

from rampart_scan.authorise import TargetAuthoriser
from rampart_scan.domain import Scan
from rampart_scan.engine.exclusions import Exclusions, own_listening_ports
from rampart_scan.engine.ports import parse_ports
from rampart_scan.engine.scanner import EngineOptions, scan_hosts
from rampart_scan.interfaces import EngineRun
from rampart_scan.sandbox import sandbox_scan
from rampart_scan.settings import ScanSettings


def worker_exclusions(settings: ScanSettings) -> Exclusions:
    """PLATFORM_ENDPOINTS, plus every port this worker listens on, on every local address."""
    ports = own_listening_ports()
    if settings.metrics_port:
        ports |= {settings.metrics_port}
    return Exclusions(settings.platform_endpoint_set(), ports)


class ScanEngine:
    """Starts the engine on a scan's spec (``interfaces.Engine``)."""

    def __init__(self, authoriser: TargetAuthoriser, settings: ScanSettings) -> None:
        self._authoriser = authoriser
        self._settings = settings

    async def start(self, scan: Scan) -> EngineRun:
        spec, options = scan.spec, scan.spec.options
        engine_options = EngineOptions(
            ports=spec.ports,
            max_hosts=self._settings.max_hosts_per_scan,
            os_detection=options.os_detection,
            service_detection=options.service_detection,
            ssl_check=options.ssl_check,
            fast_mode=options.fast_mode,
        )
        if scan.owner.sandbox:
            return EngineRun(sandbox_scan(list(spec.targets), engine_options))
        # Checked again now: the scope may have changed since the scan was accepted.
        hosts = await self._authoriser.authorised_hosts(scan.owner.org_id, list(spec.targets))
        exclusions = worker_exclusions(self._settings)
        listed = exclusions.listed((host.address for host in hosts), parse_ports(spec.ports))
        return EngineRun(scan_hosts(hosts, engine_options, exclusions), listed)
