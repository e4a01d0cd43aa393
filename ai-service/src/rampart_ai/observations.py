"""What a port's recorded facts say, in words: the scan's own observations, no inference."""

from __future__ import annotations

from rampart_ai.domain import PortFact

AUTH_FACTS = {
    "redis.auth": ("none", "Redis answered without authentication"),
    "memcached.auth": ("none", "memcached answered without authentication"),
    "mongodb.auth": ("none", "MongoDB listed databases without authentication"),
    "nats.auth_required": ("false", "NATS requires no authentication"),
    "mqtt.anonymous": ("accepted", "MQTT accepted an anonymous client"),
    "ftp.anonymous": ("accepted", "FTP accepted anonymous login"),
    "ftp.auth_tls": ("false", "FTP offers no AUTH TLS"),
    "smtp.starttls": ("false", "SMTP offers no STARTTLS"),
    "imap.starttls": ("false", "IMAP offers no STARTTLS"),
    "pop3.starttls": ("false", "POP3 offers no STARTTLS"),
    "nats.tls_required": ("false", "NATS does not require TLS"),
    "http.directory_listing": ("true", "the web server lists a directory"),
}
OLD_TLS = {"SSLv3", "TLSv1.0", "TLSv1.1", "SSLv2"}
LEGACY_SSH = {
    "ssh.kex": (
        "diffie-hellman-group1-sha1",
        "diffie-hellman-group-exchange-sha1",
        "diffie-hellman-group14-sha1",
    ),
    "ssh.hostkey": ("ssh-dss",),
    "ssh.ciphers": ("-cbc", "arcfour", "3des"),
    "ssh.macs": ("hmac-md5", "hmac-sha1-96", "umac-64@"),
}


def observations(port: PortFact) -> list[str]:
    """Security-relevant observations recorded for ``port``, each with the fact it comes from."""
    notes = []
    for key, (value, text) in AUTH_FACTS.items():
        if port.fact(key) == value:
            notes.append(f"{text} ({key} = {value})")
    for key, legacy in LEGACY_SSH.items():
        offered = [a for a in port.fact(key).split(",") if a and any(m in a for m in legacy)]
        if offered:
            notes.append(f"offers legacy SSH algorithms ({key}: {', '.join(offered)})")
    api = port.fact("http.api")
    if api:
        notes.append(f"an unauthenticated {api} management API answered (http.api = {api})")
    tls = port.tls
    if tls is not None:
        old = sorted(OLD_TLS & set(tls.protocols))
        if old:
            notes.append(f"accepts deprecated {', '.join(old)}")
        if tls.expired:
            notes.append("its certificate has expired")
        if tls.self_signed:
            notes.append("its certificate is self-signed")
        if tls.hostname_mismatch:
            notes.append("its certificate does not match the host name")
        weak = port.fact("tls.weak_ciphers")
        if weak:
            notes.append(f"accepts weak cipher suites (tls.weak_ciphers = {weak})")
    elif port.service in {"http", "telnet", "ftp"} and port.state == "open":
        notes.append(f"{port.service} without TLS: traffic is readable on the network")
    return notes
