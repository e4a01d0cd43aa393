"""CVE matching at NVD scale: a synthetic knowledge base of ~300,000 CVEs, and a 1,000-open-port scan.

The real NVD feed is not at hand (and tests and benchmarks never download it), so the base is
generated. Its shape approximates NVD's (an assumption, not measured from the feed here): products
follow a Zipf popularity law over 25,000 vendor:product names (a few products with thousands of CVEs,
a long tail with one or two), and the 20 network servers the engine detects get 300 CVEs each (NVD
has ~100-400 for OpenSSH, nginx, httpd, BIND...); CPE match entries per CVE are 1 for 55 %, 2-3 for 25 %,
4-10 for 14 %, 11-50 for 5 % and 51-300 for 1 %; 70 % of entries are ranges inside one release branch
(``>= 7.0.0, < 7.0.14``, a third of them open at the start), the rest exact versions; 10 % of CVEs have
no NVD configuration and only CVE 5 ``affected`` ranges; descriptions are ~250 characters.

Run: ``uv run python bench/matcher_bench.py [--cves N] [--ports N]``. Prints build time, matching time
for the scan's services, and the process's peak memory (RSS).
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from rampart_threat.knowledge.matcher import KnowledgeIndex, Matcher, Query, match_many
from rampart_threat.knowledge.model import (
    Affected,
    AffectedVersion,
    ConfigNode,
    Configuration,
    CpeMatch,
    CveRecord,
    CvssMetric,
    Description,
    Origin,
)

REAL = [
    ("openbsd", "openssh"),
    ("f5", "nginx"),
    ("apache", "http_server"),
    ("redis", "redis"),
    ("postgresql", "postgresql"),
    ("oracle", "mysql"),
    ("mariadb", "mariadb"),
    ("openssl", "openssl"),
    ("exim", "exim"),
    ("postfix", "postfix"),
    ("isc", "bind"),
    ("haproxy", "haproxy"),
    ("memcached", "memcached"),
    ("eclipse", "mosquitto"),
    ("samba", "samba"),
    ("proftpd", "proftpd"),
    ("vsftpd_project", "vsftpd"),
    ("dovecot", "dovecot"),
    ("squid-cache", "squid"),
    ("lighttpd", "lighttpd"),
]
FILLER = (
    "allows remote attackers to cause a denial of service or possibly execute arbitrary code via a crafted "
)


def _products(n: int) -> list[tuple[str, str]]:
    return REAL + [(f"vendor{i}", f"product{i}") for i in range(n - len(REAL))]


def _entries_per_cve(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.55:
        return 1
    if r < 0.80:
        return rng.randint(2, 3)
    if r < 0.94:
        return rng.randint(4, 10)
    if r < 0.99:
        return rng.randint(11, 50)
    return rng.randint(51, 300)


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 15)}.{rng.randint(0, 30)}.{rng.randint(0, 40)}"


def build(n_cves: int, seed: int = 7) -> list[CveRecord]:
    rng = random.Random(seed)
    products = _products(25_000)
    weights = [1.0 / (i + 1) ** 1.1 for i in range(len(products))]
    picks = [i % len(REAL) for i in range(len(REAL) * 300)]
    picks += rng.choices(range(len(REAL), len(products)), weights=weights[len(REAL) :], k=n_cves - len(picks))
    out: list[CveRecord] = []
    for i, p in enumerate(picks):
        vendor, product = products[p]
        metric = CvssMetric(
            "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL", "nvd@nist.gov", "Primary"
        )
        desc = (
            Description(
                "en", f"{product} before {_version(rng)} {FILLER}{FILLER[: rng.randint(20, 60)]}request."
            ),
        )
        cve_id = f"CVE-{2000 + i % 25}-{100000 + i}"
        if rng.random() < 0.10:
            hi = _version(rng)
            versions = (AffectedVersion("0", "affected", "semver", less_than=hi),)
            affected = (Affected(Origin.CNA, "cna", vendor, product, "unaffected", versions),)
            out.append(CveRecord(id=cve_id, metrics=(metric,), descriptions=desc, affected=affected))
            continue
        matches = []
        for _ in range(_entries_per_cve(rng)):
            if rng.random() < 0.70:
                major, minor = rng.randint(0, 15), rng.randint(0, 30)
                lo = None if rng.random() < 0.33 else f"{major}.{minor}.0"
                hi = f"{major}.{minor}.{rng.randint(1, 40)}"
                crit = f"cpe:2.3:a:{vendor}:{product}:*:*:*:*:*:*:*:*"
                matches.append(CpeMatch(True, crit, version_start_including=lo, version_end_excluding=hi))
            else:
                matches.append(CpeMatch(True, f"cpe:2.3:a:{vendor}:{product}:{_version(rng)}:*:*:*:*:*:*:*"))
        conf = Configuration(nodes=(ConfigNode("OR", False, tuple(matches)),))
        out.append(CveRecord(id=cve_id, metrics=(metric,), descriptions=desc, configurations=(conf,)))
    return out


def scan(n_ports: int, distinct: int, seed: int = 11) -> list[Query]:
    """Services of a scan: mostly the common servers, some long-tail products, some repeated on many hosts."""
    rng = random.Random(seed)
    products = _products(25_000)
    out: list[Query] = []
    for _ in range(min(n_ports, distinct)):
        vendor, product = rng.choice(REAL) if rng.random() < 0.7 else products[rng.randint(0, 2000)]
        version = f"{rng.randint(0, 15)}.{rng.randint(0, 30)}.{rng.randint(0, 3)}"
        out.append(Query(cpe=f"cpe:2.3:a:{vendor}:{product}:{version}:*:*:*:*:*:*:*"))
    return [out[i % len(out)] for i in range(n_ports)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cves", type=int, default=300_000)
    parser.add_argument("--ports", type=int, default=1_000)
    parser.add_argument("--distinct", type=int, default=1_000, help="distinct services among the ports")
    args = parser.parse_args()
    t0 = time.perf_counter()
    records = build(args.cves)
    t1 = time.perf_counter()
    index = KnowledgeIndex(records)
    del records
    t2 = time.perf_counter()
    matcher = Matcher(index)
    queries = scan(args.ports, args.distinct)
    t3 = time.perf_counter()
    results = match_many(matcher, queries)
    t4 = time.perf_counter()
    typical = scan(args.ports, 150)
    t5 = time.perf_counter()
    match_many(matcher, typical)
    t6 = time.perf_counter()
    entries = sum(len(n.cpe_match) for r in index.records.values() for c in r.configurations for n in c.nodes)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"knowledge base: {len(index):,} synthetic CVEs, {entries:,} cpeMatch entries",
        f"(generated in {t1 - t0:.1f} s)",
    )
    print(f"index build: {t2 - t1:.1f} s")
    distinct = len(set(queries))
    hits = sum(len(r) for r in results)
    print(
        f"match {len(queries):,} services ({distinct:,} distinct): {t4 - t3:.3f} s,",
        f"{hits:,} CVE verdicts returned",
    )
    print(f"match {len(typical):,} services (150 distinct, many hosts alike): {t6 - t5:.3f} s")
    print(f"peak RSS of this process: {rss_mb:.0f} MB (target < 500 MB)")


if __name__ == "__main__":
    main()
