"""What a caller asks to scan: targets, ports, options and profile, checked and given defaults."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rampart.lib.errors import InvalidArgument
from rampart_scan.engine.ports import parse_ports
from rampart_scan.engine.targets import InvalidTarget

MAX_TARGETS = 256
MAX_DURATION_SECONDS = 24 * 3600
DEFAULT_MAX_DURATION_SECONDS = 3600
SCAN_TYPES = ("tcp", "udp")
MAX_RATE = 1_000_000.0  # probes per second a scan may ask for
DEFAULT_MAX_HOSTS = 256  # hosts per scan when the plan names no cap
PROFILES = ("standard", "compliance", "pentest")


@dataclass(frozen=True)
class ScanOptions:
    """Optional stages of a scan; a profile may switch them on, never off."""

    os_detection: bool = False
    service_detection: bool = False
    ssl_check: bool = False
    fast_mode: bool = False

    def merged(self, other: ScanOptions) -> ScanOptions:
        return ScanOptions(
            self.os_detection or other.os_detection,
            self.service_detection or other.service_detection,
            self.ssl_check or other.ssl_check,
            self.fast_mode or other.fast_mode,
        )


PROFILE_DEFAULTS: dict[str, tuple[str, ScanOptions]] = {
    "standard": ("1-1000", ScanOptions()),
    "compliance": ("top-1000", ScanOptions(service_detection=True, ssl_check=True)),
    "pentest": ("-", ScanOptions(os_detection=True, service_detection=True, ssl_check=True)),
}


@dataclass(frozen=True)
class ScanSpec:
    """A scan as asked for; empty values mean "the profile's default" until ``resolved``."""

    targets: tuple[str, ...]
    scan_type: str = ""
    ports: str = ""
    options: ScanOptions = field(default_factory=ScanOptions)
    profile: str = ""
    max_duration_seconds: int = 0
    rate: float = 0.0  # probes per second; 0: only the organisation's and the platform's caps

    def resolved(self) -> tuple[ScanSpec, list[int]]:
        """The spec with every default filled in and checked, and the ports it names."""
        targets = check_targets(list(self.targets))
        scan_type = self.scan_type or "tcp"
        if scan_type not in SCAN_TYPES:
            raise InvalidArgument("scan_type must be tcp or udp", field="scan_type", value=scan_type)
        if not 0 <= self.rate <= MAX_RATE:
            raise InvalidArgument(
                f"rate must be 0 to {MAX_RATE:.0f} probes per second", field="rate", value=self.rate
            )
        profile = self.profile or "standard"
        if profile not in PROFILES:
            raise InvalidArgument(
                f"profile must be one of {', '.join(PROFILES)}", field="profile", value=profile
            )
        default_ports, default_options = PROFILE_DEFAULTS[profile]
        ports_spec = self.ports or default_ports
        ports = parse_ports(ports_spec)
        max_duration = self.max_duration_seconds or DEFAULT_MAX_DURATION_SECONDS
        if not 1 <= max_duration <= MAX_DURATION_SECONDS:
            raise InvalidArgument(
                "max_duration must be 1 second to 24 hours", field="max_duration", value=max_duration
            )
        spec = replace(
            self,
            targets=tuple(targets),
            scan_type=scan_type,
            ports=ports_spec,
            options=default_options.merged(self.options),
            profile=profile,
            max_duration_seconds=max_duration,
        )
        return spec, ports


def check_targets(targets: list[str]) -> list[str]:
    """Trim and de-duplicate targets in order."""
    cleaned = list(dict.fromkeys(t.strip() for t in targets if t.strip()))
    if not cleaned:
        raise InvalidTarget("at least one target is required", field="target", value="")
    if len(cleaned) > MAX_TARGETS:
        raise InvalidTarget(f"at most {MAX_TARGETS} targets per scan", field="targets", value=len(cleaned))
    return cleaned


def estimate_seconds(hosts: int, ports: int, options: ScanOptions, sandbox: bool) -> int:
    """A rough, honest estimate: sweep rate seen on this code, plus detection time per host."""
    if sandbox:
        return 2
    sweep = ports / 40_000
    extra = (4 if options.service_detection else 0) + (2 if options.ssl_check else 0)
    return max(1, round(hosts * (sweep + extra)))


@dataclass(frozen=True)
class PlanLimits:
    """The caller's plan as the gateway resolved it; 0 means unlimited (hosts: 0 means the default)."""

    concurrent: int = 0
    daily: int = 0
    max_hosts: int = 0
    org_rate: float = 0.0  # probes per second over all the organisation's scans

    def host_cap(self, platform_cap: int) -> int:
        """Hosts one scan may cover: the plan's cap (256 when it names none), never above the platform's."""
        return min(self.max_hosts or DEFAULT_MAX_HOSTS, platform_cap)
