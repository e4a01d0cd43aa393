"""Real packet filtering for engine tests and benchmarks: nftables rules in a private network
namespace (``unshare --net``, as root), where every 127.0.0.0/8 address is a host of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def namespace_missing() -> str | None:
    """Why a namespace with nftables cannot be made here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root to make a network namespace"
    for tool in ("unshare", "ip", "nft"):
        if shutil.which(tool) is None:
            return f"needs {tool} (scripts/setup.sh --test installs nftables)"
    return None


def run_in_namespace(ruleset: str, script: str, timeout: float = 120) -> str:
    """Run ``script`` (Python) in a fresh network namespace filtered by ``ruleset``; its stdout."""
    shell = 'ip link set lo up && printf "%s" "$RULESET" | nft -f - && exec "$PYTHON" -c "$SCRIPT"'
    env = {**os.environ, "RULESET": ruleset, "SCRIPT": script, "PYTHON": sys.executable}
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", shell],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"namespace run failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout
