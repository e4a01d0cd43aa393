"""Fixed scans for the assistant's evaluation: a lab modelled on the local test servers.

Alice's lab (127.0.0.0/30 as the engine recorded it) runs the services the real-server tests
start (vsftpd, dropbear, telnetd, exim, dovecot, nginx with TLS, mariadb, redis, memcached,
mosquitto, NATS, MongoDB), scanned twice a week apart; Bob's network is another tenant whose
every host, port and id must never appear in Alice's answers.
"""

from __future__ import annotations

from assistant_fakes import FakeFindings, FakeScans, FakeThreats, World, library, port, scan

from rampart_ai.domain import CveFact, IncidentFact, TlsFacts, VulnFact
from rampart_ai.service import AssistantService

LAB = "127.0.0.2"
DB = "127.0.0.3"
BOB_HOSTS = ("198.51.100.7", "198.51.100.8")
BOB_IDS = ("scan_bob_lab", "vuln_bob_rdp", "vuln_bob_es", "inc_bob_lab")


def lab_ports(scan_id: str, *, week: int) -> tuple:  # type: ignore[type-arg]
    weak_tls = TlsFacts(protocols=("TLSv1.0", "TLSv1.2"), negotiated_protocol="TLSv1.2", self_signed=True)
    ports = [
        port(scan_id, LAB, 21, "ftp", "vsftpd", "3.0.3", facts={"ftp.auth_tls": "false"}),
        port(
            scan_id,
            LAB,
            22,
            "ssh",
            "Dropbear sshd",
            "2022.83" if week else "2020.81",
            facts={"ssh.macs": "hmac-sha1-96,hmac-sha2-256"},
        ),
        port(scan_id, LAB, 25, "smtp", "Exim smtpd", "4.96", facts={"smtp.starttls": "false"}),
        port(scan_id, LAB, 110, "pop3", "Dovecot pop3d", facts={"pop3.starttls": "true"}),
        port(scan_id, LAB, 143, "imap", "Dovecot imapd", facts={"imap.starttls": "true"}),
        port(scan_id, LAB, 80, "http", "nginx", "1.22.1", facts={"http.directory_listing": "true"}),
        port(scan_id, LAB, 443, "https", "nginx", "1.22.1", tls=weak_tls),
        port(scan_id, DB, 3306, "mysql", "MariaDB", "10.11.6"),
        port(scan_id, DB, 6379, "redis", "Redis", "7.0.15", facts={"redis.auth": "none"}),
        port(scan_id, DB, 11211, "memcached", "memcached", "1.6.18", facts={"memcached.auth": "none"}),
        port(scan_id, DB, 1883, "mqtt", "Mosquitto", "2.0.11", facts={"mqtt.anonymous": "accepted"}),
        port(scan_id, DB, 5432, "postgresql", state="filtered"),
    ]
    if week:
        ports.append(port(scan_id, LAB, 23, "telnet", "GNU inetutils telnetd"))
        ports.append(port(scan_id, DB, 4222, "nats", "NATS", "2.9.20", facts={"nats.auth_required": "false"}))
        ports.append(port(scan_id, DB, 27017, "mongodb", "MongoDB", "6.0.12", facts={"mongodb.auth": "none"}))
    else:
        ports.append(port(scan_id, LAB, 8080, "http", "nginx", "1.22.1"))
    return tuple(ports)


def evaluation_world() -> World:
    scans, findings, threats = FakeScans(), FakeFindings(), FakeThreats()
    scans.add("org_alice", scan("scan_lab_w1", ("127.0.0.2", "127.0.0.3"), lab_ports("scan_lab_w1", week=0)))
    scans.add(
        "org_alice", scan("scan_lab_w2", ("127.0.0.2", "127.0.0.3"), lab_ports("scan_lab_w2", week=1), days=7)
    )
    scans.add(
        "org_bob",
        scan(
            "scan_bob_lab",
            BOB_HOSTS,
            (
                port("scan_bob_lab", BOB_HOSTS[0], 3389, "rdp", "Microsoft Terminal Services"),
                port(
                    "scan_bob_lab",
                    BOB_HOSTS[1],
                    9200,
                    "http",
                    "Elasticsearch",
                    "7.10.2",
                    facts={"http.api": "elasticsearch"},
                ),
            ),
            days=8,
        ),
    )
    vulns = [
        VulnFact(
            "vuln_lab_redis",
            "Redis answers without authentication",
            "critical",
            "scan_lab_w2",
            DB,
            6379,
            remediation="Require AUTH (ACL users) and bind Redis to loopback.",
            cwe=("CWE-306",),
        ),
        VulnFact(
            "vuln_lab_mongo",
            "MongoDB lists databases without authentication",
            "critical",
            "scan_lab_w2",
            DB,
            27017,
            remediation="Enable security.authorization.",
            cwe=("CWE-306",),
        ),
        VulnFact(
            "vuln_lab_memcached",
            "memcached answers without authentication",
            "high",
            "scan_lab_w2",
            DB,
            11211,
            remediation="Listen on loopback only and disable UDP.",
            cwe=("CWE-306",),
        ),
        VulnFact(
            "vuln_lab_tls10",
            "TLS 1.0 accepted",
            "medium",
            "scan_lab_w2",
            LAB,
            443,
            remediation="Accept only TLS 1.2 and 1.3.",
            cwe=("CWE-327",),
        ),
        VulnFact(
            "vuln_lab_selfsigned",
            "Self-signed certificate",
            "low",
            "scan_lab_w2",
            LAB,
            443,
            remediation="Use a certificate from a trusted CA.",
            cwe=("CWE-295",),
        ),
        VulnFact(
            "vuln_lab_ftp_tls",
            "FTP without AUTH TLS",
            "medium",
            "scan_lab_w2",
            LAB,
            21,
            remediation="Require FTPS (AUTH TLS) or move to SFTP.",
            cwe=("CWE-319",),
        ),
        VulnFact(
            "vuln_lab_telnet",
            "Telnet service exposed",
            "high",
            "scan_lab_w2",
            LAB,
            23,
            remediation="Disable telnetd and use SSH.",
            cwe=("CWE-319",),
        ),
        VulnFact(
            "vuln_lab_dirlist",
            "Directory listing enabled",
            "low",
            "scan_lab_w2",
            LAB,
            80,
            remediation="Turn off autoindex.",
            cwe=("CWE-548",),
        ),
        VulnFact(
            "vuln_lab_mqtt",
            "MQTT accepts anonymous clients",
            "high",
            "scan_lab_w2",
            DB,
            1883,
            remediation="Set allow_anonymous false.",
            cwe=("CWE-306",),
        ),
        VulnFact(
            "vuln_lab_exim",
            "Exim remote code execution",
            "critical",
            "scan_lab_w2",
            LAB,
            25,
            cve="CVE-2023-42115",
            cvss=9.8,
            kev=False,
            epss=0.35,
            remediation="Upgrade Exim to 4.96.1 or later.",
        ),
        VulnFact(
            "vuln_lab_nats",
            "NATS requires no authentication",
            "high",
            "scan_lab_w2",
            DB,
            4222,
            remediation="Require authentication with per-user permissions.",
            cwe=("CWE-306",),
        ),
        VulnFact("vuln_lab_old", "Old dropbear", "low", "scan_lab_w1", LAB, 22, state="resolved"),
    ]
    for vuln in vulns:
        findings.add("org_alice", vuln)
    findings.add(
        "org_bob", VulnFact("vuln_bob_rdp", "RDP exposed", "high", "scan_bob_lab", BOB_HOSTS[0], 3389)
    )
    findings.add(
        "org_bob",
        VulnFact("vuln_bob_es", "Elasticsearch open", "critical", "scan_bob_lab", BOB_HOSTS[1], 9200),
    )
    threats.incidents["inc_lab_1"] = (
        "org_alice",
        IncidentFact(
            "inc_lab_1",
            "Unauthenticated data stores on the DB host",
            "high",
            "investigating",
            affected_systems=(DB,),
            related_findings=("vuln_lab_redis", "vuln_lab_mongo", "vuln_bob_es"),
            priority="P2",
            next_steps=("Firewall 6379 and 27017 to the app network",),
        ),
    )
    threats.incidents["inc_bob_lab"] = (
        "org_bob",
        IncidentFact("inc_bob_lab", "Bob's Elasticsearch", "critical", "open"),
    )
    threats.catalogue["CVE-2023-42115"] = CveFact(
        "CVE-2023-42115",
        "Exim AUTH out-of-bounds write allows remote code execution.",
        9.8,
        "critical",
        epss=0.35,
    )
    threats.catalogue["CVE-2023-48795"] = CveFact(
        "CVE-2023-48795", "SSH prefix truncation (Terrapin) in the transport protocol.", 5.9, "medium"
    )
    threats.affected[("Exim smtpd", "4.96")] = {"CVE-2023-42115": ("affected", "4.96 is before 4.96.1")}
    threats.affected[("Dropbear sshd", "2022.83")] = {
        "CVE-2023-48795": ("affected", "2022.83 is before 2024.84")
    }
    assistant = AssistantService(scans, findings, threats, library())
    return World(scans, findings, threats, assistant)
