"""From reasons to a risk score, a verdict, a confidence and recommended actions.

The score is the sum of the reasons' weights, capped at 100: every point has a reason.
"""

from __future__ import annotations

from rampart_threat.analysis.domain import Findings, Kind, Verdict, Verdicts

MALICIOUS_AT = 70
SUSPICIOUS_AT = 30


def score(kind: Kind, found: Findings) -> Verdicts:
    points = min(100, sum(reason.weight for reason in found.reasons))
    signals = sum(1 for reason in found.reasons if reason.weight > 0)
    feeds = bool(found.feed_hits)
    if points >= MALICIOUS_AT:
        verdict = Verdict.MALICIOUS
        confidence = min(0.99, 0.6 + 0.08 * signals + (points - MALICIOUS_AT) / 200 + (0.2 if feeds else 0))
    elif points >= SUSPICIOUS_AT:
        verdict = Verdict.SUSPICIOUS
        confidence = min(0.9, 0.4 + 0.08 * signals)
    elif found.benign_evidence:
        verdict, confidence = Verdict.BENIGN, 0.95
    elif kind in (Kind.HASH, Kind.IP) and points == 0:
        verdict, confidence = Verdict.UNKNOWN, 0.0  # nothing local can vouch for a hash or a public address
    else:
        verdict = Verdict.BENIGN
        confidence = round(0.7 - points / 100, 2)  # absence of signals is weak evidence
    return Verdicts(points, verdict, round(confidence, 2), actions(kind, verdict, found))


def actions(kind: Kind, verdict: Verdict, found: Findings) -> tuple[str, ...]:
    signals = {reason.signal for reason in found.reasons if reason.weight > 0}
    out: list[str] = []
    if verdict is Verdict.MALICIOUS:
        out.append(
            {
                Kind.URL: "Block the URL and its host at the web proxy and mail gateway",
                Kind.DOMAIN: "Block the domain in DNS (RPZ) and the web proxy",
                Kind.IP: "Block the address at the perimeter firewall",
                Kind.HASH: "Quarantine files with this hash on endpoints",
                Kind.PAYLOAD: "Treat the payload's source as hostile: block it and review the logs around it",
            }[kind]
        )
        out.append("Search logs and mail for other occurrences and open an incident if any host was reached")
    elif verdict is Verdict.SUSPICIOUS:
        out.append("Do not open or run it; have an analyst review the reasons before allowing it")
    if signals & {"brand_lookalike", "brand_embedded", "brand_in_subdomain", "mixed_script", "homoglyph"}:
        out.append("Report the look-alike domain to the impersonated brand and warn users")
    if any(s.startswith("yara:") for s in signals) and kind is Kind.PAYLOAD:
        out.append("Check the web application and WAF logs for requests carrying this payload")
    if "yara:log4shell_lookup" in signals:
        out.append("Patch Log4j to 2.17.1 or later on every Java service (CVE-2021-44228)")
    if "yara:web_shell" in signals:
        out.append("Look for the file on web servers and remove it; rotate credentials on the host")
    if "shortener" in signals:
        out.append("Expand the short link in an isolated browser before trusting it")
    if verdict is Verdict.UNKNOWN:
        out.append("No local evidence either way: import threat feeds or submit to a sandbox you trust")
    return tuple(out)
