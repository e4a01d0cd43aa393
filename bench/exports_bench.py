"""Export of a scan with 1,000 findings: time and peak memory for each format.

The data is the sample scan scaled up (rampart_report.exports.samples.large_export): 1,000
findings over 50 hosts with six open ports each (400 ports in all), findings from four rule
families and one CVE. Each format is rendered in a fresh process, so the peak memory (RSS) printed
is that format's alone: the process's peak minus its size after imports and data were built.
PDF budget: under 10 s and 300 MB. Then the same 1,000 findings as vulnerability records
(``GET /vulnerabilities/export``, rampart_report.exports.samples.large_vulnerabilities) in each format.

Run: ``uv run python bench/exports_bench.py [--findings N]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from multiprocessing.connection import Connection

from rampart_report.exports.model import CsvKind, ExportFormat

PDF_SECONDS, PDF_MB = 10.0, 300.0


def measure(fmt: str, kind: str, findings: int, out: Connection) -> None:
    from rampart_report.exports.samples import large_export, large_vulnerabilities
    from rampart_report.exports.service import render, render_vulnerabilities

    data = large_export(findings)
    records = large_vulnerabilities(findings)
    render(data, ExportFormat.JSON)  # warm imports (jinja2 templates, weasyprint modules) outside the timing
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    if kind == "records":
        file = render_vulnerabilities(records, ExportFormat(fmt))
    else:
        file = render(data, ExportFormat(fmt), CsvKind(kind))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.send((wall, cpu, len(file.content), peak / 1024, max(0, peak - before) / 1024))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=1000)
    args = parser.parse_args()
    runs = [(f.value, "ports") for f in ExportFormat] + [("csv", "findings")]
    runs += [(f.value, "records") for f in ExportFormat]
    print(f"export of a scan with {args.findings} findings (400 ports), one process per format")
    print(
        f"{'format':<16} {'wall s':>8} {'cpu s':>8} {'size KB':>9} {'peak RSS MB':>12} {'+ for render':>13}"
    )
    context = multiprocessing.get_context("spawn")
    results = {}
    for fmt, kind in runs:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=measure, args=(fmt, kind, args.findings, send))
        process.start()
        wall, cpu, size, peak, grew = receive.recv()
        process.join()
        label = f"{fmt} ({kind})" if fmt == "csv" or kind == "records" else fmt
        results[label] = (wall, cpu, peak)
        print(f"{label:<16} {wall:>8.2f} {cpu:>8.2f} {size / 1024:>9.0f} {peak:>12.0f} {grew:>13.0f}")
    wall, cpu, peak = results["pdf"]
    verdict = "within" if wall < PDF_SECONDS and peak < PDF_MB else "OVER"
    print(
        f"PDF budget {PDF_SECONDS:.0f} s and {PDF_MB:.0f} MB: {verdict} "
        f"({wall:.1f} s wall for {cpu:.1f} s of CPU, {peak:.0f} MB peak RSS)"
    )
    print(f"(records): the same {args.findings} findings as vulnerability records (/vulnerabilities/export)")


if __name__ == "__main__":
    main()
