"""Sandbox mode: the deep analysis run in a separate, locked-down process.

The child limits itself before it reads the target: CPU seconds and address space
(``resource.setrlimit``), no core files, and a new network namespace (``unshare``: as root
directly, otherwise inside a new user namespace where the kernel allows it), so it has no
network interface at all (a fresh namespace's loopback is down). The parent kills it when the wall-clock
budget passes. The payload is only read and decoded, never executed: detonation is not offered.

Run as ``python -m rampart_threat.analysis.sandbox`` with the request as JSON on stdin.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import resource
import sys
from dataclasses import asdict, dataclass

from rampart_threat.analysis.domain import (
    AnalysisBudgetExceeded,
    Extracted,
    Findings,
    Kind,
    Mode,
    Reason,
    Target,
)
from rampart_threat.analysis.engine import EngineConfig, EngineResult, Lookup, run

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class SandboxLimits:
    wall_seconds: float = 20.0
    cpu_seconds: int = 15
    memory_bytes: int = 1024 * 1024 * 1024


@dataclass(frozen=True)
class SandboxRun:
    result: EngineResult
    isolation: str
    max_rss_kib: int


async def run_sandboxed(target: Target, config: EngineConfig, limits: SandboxLimits) -> SandboxRun:
    """The deep analysis of ``target`` in a child process; over budget → ``AnalysisBudgetExceeded``."""
    request = json.dumps(
        {
            "target": asdict(target) | {"kind": target.kind.value},
            "config": asdict(config),
            "limits": asdict(limits),
        }
    ).encode()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rampart_threat.analysis.sandbox",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
        start_new_session=True,
    )
    try:
        out, _ = await asyncio.wait_for(child.communicate(request), limits.wall_seconds)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise AnalysisBudgetExceeded(
            "the sandboxed analysis ran past its time budget", budget_seconds=limits.wall_seconds
        ) from None
    if child.returncode != 0 or not out:
        raise AnalysisBudgetExceeded(
            "the sandboxed analysis ran out of its CPU or memory budget", exit_code=child.returncode
        )
    return _decode_run(json.loads(out))


def _decode_run(data: dict[str, object]) -> SandboxRun:
    found_data = data["findings"]
    assert isinstance(found_data, dict)
    found = Findings(
        reasons=[
            Reason(r["signal"], r["weight"], r["evidence"], tuple(r["attack"])) for r in found_data["reasons"]
        ],
        limits=list(found_data["limits"]),
        benign_evidence=bool(found_data["benign_evidence"]),
    )
    lookups = [Lookup(**item) for item in data["lookups"]]  # type: ignore[attr-defined]
    extracted = [Extracted(**item) for item in data["extracted"]]  # type: ignore[attr-defined]
    return SandboxRun(
        EngineResult(found, lookups, extracted), str(data["isolation"]), int(str(data["max_rss_kib"]))
    )


def _lock_down(limits: SandboxLimits) -> str:
    """Apply the limits to this process; returns how the network was taken away."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no fork (root is exempt; see the namespace)
    libc = ctypes.CDLL(None, use_errno=True)
    if os.geteuid() == 0 and libc.unshare(CLONE_NEWNET) == 0:
        return "network namespace"
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return "user+network namespace"
    return "resource limits only (no namespace permitted): the analysis code opens no socket"


def main() -> None:
    request = json.loads(sys.stdin.buffer.read())
    limits = SandboxLimits(**request["limits"])
    isolation = _lock_down(limits)
    target_data = request["target"]
    target = Target(
        Kind(target_data["kind"]), target_data["subtype"], target_data["raw"], target_data["normalized"]
    )
    result = run(target, Mode.DEEP, EngineConfig(**request["config"]))
    answer = {
        "findings": asdict(result.findings),
        "lookups": [asdict(item) for item in result.lookups],
        "extracted": [asdict(item) for item in result.extracted],
        "isolation": isolation,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
