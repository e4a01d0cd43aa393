"""``make run``: the whole platform on its documented ports until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from rampart_devtools.devstack import ORDER, DevStack, StackError
from rampart_devtools.ports import port_open


def _summary(stack: DevStack, started: float) -> str:
    lines = [
        "",
        f"Rampart is up in {time.monotonic() - started:.1f}s.",
        f"  API:     {stack.gateway_url}/api/v1",
        f"  Health:  {stack.gateway_url}/api/v1/health (details: /api/v1/health/details,",
        f"           Bearer token in {stack.data_dir / 'secrets' / 'health_token'})",
        f"  Feeds:   {stack.gateway_url}/api/v1/admin/feeds (Bearer token in",
        f"           {stack.data_dir / 'secrets' / 'admin_token'})",
        f"  Metrics: {stack.gateway_url}/metrics",
        f"  Service certificates (development CA, mutual TLS on gRPC and NATS): {stack.pki.directory}",
        "",
        "  process   address",
    ]
    for name in ORDER:
        lines.append(f"  {name:<14} 127.0.0.1:{stack.ports[name]:<6} log {stack.log_path(name)}")
    lines += ["", "Ctrl-C stops everything."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rampart_devtools", description="Run the whole Rampart platform locally."
    )
    parser.add_argument("--data-dir", default=os.environ.get("RAMPART_DATA_DIR", "var"))
    parser.add_argument("--gateway-port", type=int, default=int(os.environ.get("GATEWAY_PORT", 8000)))
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info"))
    args = parser.parse_args(argv)
    stack = DevStack(Path(args.data_dir).resolve(), log_level=args.log_level)
    stack.ports["gateway"] = args.gateway_port
    busy = [f"{name}:{port}" for name, port in stack.ports.items() if port_open(port)]
    if busy:
        print(f"ports already in use: {', '.join(busy)}; is Rampart already running?", file=sys.stderr)
        return 1
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    started = time.monotonic()
    try:
        stack.start_all()
        stack.wait_health(200, deadline=60.0)
        print(_summary(stack, started), flush=True)
        while not stopping:
            for name, process in list(stack.processes.items()):
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; see {stack.log_path(name)}")
                    stack.processes.pop(name)
            time.sleep(0.2)
    except StackError as error:
        print(f"could not start Rampart: {error}", file=sys.stderr)
        return 1
    finally:
        print("stopping…", flush=True)
        stack.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
