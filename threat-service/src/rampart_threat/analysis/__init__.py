"""On-demand analysis of URLs, domains, IPs, hashes and payloads: offline, explainable, bounded."""
