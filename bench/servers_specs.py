"""The servers of the detection benchmark: config each one needs to run in a temporary directory."""
# ruff: noqa: E501, S108 - daemon configs read best as one line each; /tmp is only the cwd of initdb

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from servers_catalog import Spec, write

TLS_HALF = "protocol inside TLS"
PROBE_HALF = "structured probe (engine/protocols/)"
HEADER_HALF = "HTTP header rule"


def vsftpd(w: Path, p: int) -> list[str]:
    (w / "empty").mkdir()
    conf = (
        f"listen=YES\nlisten_address=127.0.0.1\nlisten_port={p}\nbackground=NO\nsecure_chroot_dir={w}/empty\n"
    )
    return ["/usr/sbin/vsftpd", str(write(w / "vsftpd.conf", conf))]


def dropbear(w: Path, p: int) -> list[str]:
    subprocess.run(["dropbearkey", "-t", "ed25519", "-f", str(w / "key")], capture_output=True, check=True)
    return ["/usr/sbin/dropbear", "-F", "-E", "-p", f"127.0.0.1:{p}", "-r", str(w / "key")]


def inetd_telnet(w: Path, p: int) -> list[str]:
    write(w / "inetd.conf", f"127.0.0.1:{p} stream tcp nowait root /usr/sbin/telnetd telnetd\n")
    return ["/usr/sbin/inetd", "-d", str(w / "inetd.conf")]


def exim(w: Path, p: int) -> list[str]:
    return ["/usr/sbin/exim4", "-bdf", "-oX", f"127.0.0.1.{p}", "-oP", str(w / "exim.pid")]


def dovecot(protocol: str) -> object:
    def setup(w: Path, p: int) -> list[str]:
        login = "imap-login" if protocol == "imap" else "pop3-login"
        other = "pop3-login" if protocol == "imap" else "imap-login"
        conf = f"""base_dir = {w}/run
state_dir = {w}/state
log_path = /dev/stderr
protocols = {protocol}
listen = 127.0.0.1
ssl = no
service {login} {{
  inet_listener {protocol} {{
    port = {p}
  }}
  inet_listener {protocol}s {{
    port = 0
  }}
}}
service {other} {{
  inet_listener imap {{
    port = 0
  }}
}}
passdb {{
  driver = static
  args = password=rampart-bench
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={w}
}}
"""
        return ["/usr/sbin/dovecot", "-F", "-c", str(write(w / "dovecot.conf", conf))]

    return setup


def ngircd(w: Path, p: int) -> list[str]:
    conf = (
        f"[Global]\nName = irc.rampart.test\nInfo = bench\nListen = 127.0.0.1\nPorts = {p}\n"
        f"PidFile = {w}/ngircd.pid\nServerUID = nobody\nServerGID = nogroup\n[Options]\nPAM = no\nIdent = no\nDNS = no\n"
    )
    return ["/usr/sbin/ngircd", "-n", "-f", str(write(w / "ngircd.conf", conf))]


def inspircd(w: Path, p: int) -> list[str]:
    conf = f"""<server name="irc.rampart.test" description="bench" network="Rampart">
<admin name="bench" nick="bench" email="bench@rampart.test">
<bind address="127.0.0.1" port="{p}" type="clients">
<connect allow="*" timeout="60" pingfreq="120" maxlocal="10" maxglobal="10">
<class name="Users" commands="*">
<files motd="{w}/motd">
<pid file="{w}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{w}/log">
<dns timeout="1">
"""
    write(w / "motd", "bench\n")
    return ["/usr/sbin/inspircd", "--nofork", "--config", str(write(w / "inspircd.conf", conf))]


def prosody(w: Path, p: int) -> list[str]:
    (w / "data").mkdir()
    conf = f"""daemonize = false
pidfile = "{w}/prosody.pid"
data_path = "{w}/data"
log = {{ error = "*console" }}
c2s_ports = {{ {p} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
admin_ports = {{ }}
modules_disabled = {{ "s2s", "posix" }}
VirtualHost "localhost"
"""
    return ["/usr/bin/prosody", "--config", str(write(w / "prosody.cfg.lua", conf, "prosody"))]


def nnrpd(w: Path, p: int) -> list[str]:
    return ["/usr/lib/news/bin/nnrpd", "-D", "-f", "-b", "127.0.0.1", "-p", str(p)]


def rsyncd(w: Path, p: int) -> list[str]:
    conf = f"pid file = {w}/rsyncd.pid\nuse chroot = no\n[bench]\npath = {w}\nread only = yes\n"
    return [
        "rsync",
        "--daemon",
        "--no-detach",
        f"--port={p}",
        "--address=127.0.0.1",
        f"--config={write(w / 'rsyncd.conf', conf)}",
    ]


def cupsd(w: Path, p: int) -> list[str]:
    conf = f"Listen 127.0.0.1:{p}\nServerRoot {w}\nErrorLog stderr\nAccessLog stderr\n<Location />\nOrder allow,deny\nAllow all\n</Location>\n"
    write(w / "cups-files.conf", f"ServerRoot {w}\nErrorLog stderr\nPageLog stderr\nAccessLog stderr\n")
    return [
        "/usr/sbin/cupsd",
        "-f",
        "-c",
        str(write(w / "cupsd.conf", conf)),
        "-s",
        str(w / "cups-files.conf"),
    ]


def xvnc(display: int) -> object:
    def setup(w: Path, p: int) -> list[str]:
        return ["/usr/bin/Xvnc", f":{display}", "-rfbport", str(p), "-localhost", "-SecurityTypes", "None"]

    return setup


def xvnc_x11(w: Path, p: int) -> list[str]:
    display = p - 6000
    return [
        "/usr/bin/Xvnc",
        f":{display}",
        "-rfbport",
        "0",
        "-listen",
        "tcp",
        "-ac",
        "-SecurityTypes",
        "None",
    ]


def mariadb(w: Path, p: int) -> list[str]:
    shutil.chown(w, "mysql")  # the server makes its socket here
    data = w / "data"
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={data}",
            "--user=mysql",
            "--auth-root-authentication-method=socket",
        ],
        capture_output=True,
        check=True,
    )
    return [
        "/usr/sbin/mariadbd",
        "--no-defaults",
        f"--datadir={data}",
        "--user=mysql",
        f"--port={p}",
        "--bind-address=127.0.0.1",
        f"--socket={w}/mysql.sock",
        f"--pid-file={w}/mysql.pid",
        "--skip-log-bin",
    ]


def influxd(w: Path, p: int) -> list[str]:
    conf = (
        f'reporting-disabled = true\nbind-address = "127.0.0.1:{free_port_near(p)}"\n[meta]\ndir = "{w}/meta"\n'
        f'[data]\ndir = "{w}/data"\nwal-dir = "{w}/wal"\n[http]\nbind-address = "127.0.0.1:{p}"\n'
    )
    return ["/usr/bin/influxd", "-config", str(write(w / "influxdb.conf", conf))]


def free_port_near(_: int) -> int:
    from rampart_devtools.ports import free_port

    return free_port()


def etcd(w: Path, p: int) -> list[str]:
    peer = free_port_near(p)
    return [
        "/usr/bin/etcd",
        "--data-dir",
        f"{w}/etcd",
        "--listen-client-urls",
        f"http://127.0.0.1:{p}",
        "--advertise-client-urls",
        f"http://127.0.0.1:{p}",
        "--listen-peer-urls",
        f"http://127.0.0.1:{peer}",
        "--initial-advertise-peer-urls",
        f"http://127.0.0.1:{peer}",
        "--initial-cluster",
        f"default=http://127.0.0.1:{peer}",
    ]


def node_exporter(w: Path, p: int) -> list[str]:
    return ["/usr/bin/prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{p}"]


def zabbix_agent(w: Path, p: int) -> list[str]:
    conf = f"Server=127.0.0.1\nListenIP=127.0.0.1\nListenPort={p}\nPidFile={w}/z.pid\nLogType=console\nStartAgents=1\nAllowRoot=1\n"
    return ["/usr/sbin/zabbix_agentd", "-f", "-c", str(write(w / "zabbix_agentd.conf", conf))]


def nrpe(w: Path, p: int) -> list[str]:
    conf = f"server_port={p}\nserver_address=127.0.0.1\nallowed_hosts=127.0.0.1\nnrpe_user=nagios\nnrpe_group=nagios\npid_file={w}/nrpe.pid\n"
    return ["/usr/sbin/nrpe", "-c", str(write(w / "nrpe.cfg", conf)), "-f"]


def rabbitmq(w: Path, p: int) -> list[str]:
    env = {
        "RABBITMQ_NODE_PORT": str(p),
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_DIST_PORT": str(free_port_near(p)),
        "RABBITMQ_MNESIA_BASE": f"{w}/mnesia",
        "RABBITMQ_LOG_BASE": f"{w}/log",
        "RABBITMQ_CONFIG_FILE": f"{w}/rabbitmq",
        "RABBITMQ_ENABLED_PLUGINS_FILE": f"{w}/plugins",
        "RABBITMQ_NODENAME": f"bench{p}@localhost",
        "HOME": str(w),
    }
    return ["env", *(f"{k}={v}" for k, v in env.items()), "/usr/sbin/rabbitmq-server"]


def git_daemon(w: Path, p: int) -> list[str]:
    return ["git", "daemon", "--listen=127.0.0.1", f"--port={p}", f"--base-path={w}", "--reuseaddr", str(w)]


def distccd(w: Path, p: int) -> list[str]:
    return [
        "/usr/bin/distccd",
        "--no-detach",
        "--daemon",
        "--listen",
        "127.0.0.1",
        "--port",
        str(p),
        "--allow",
        "127.0.0.1",
        "--log-stderr",
        "--user",
        "nobody",
    ]


def squid(w: Path, p: int) -> list[str]:
    conf = f"http_port 127.0.0.1:{p}\npid_filename {w}/squid.pid\naccess_log none\ncache_log /dev/null\ncache deny all\nhttp_access allow localhost\nhttp_access deny all\ncoredump_dir {w}\n"
    return ["/usr/sbin/squid", "-N", "-f", str(write(w / "squid.conf", conf))]


def tinyproxy(w: Path, p: int) -> list[str]:
    conf = f'Port {p}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\nPidFile "{w}/tp.pid"\nUser nobody\nGroup nogroup\n'
    return ["/usr/bin/tinyproxy", "-d", "-c", str(write(w / "tinyproxy.conf", conf))]


def privoxy(w: Path, p: int) -> list[str]:
    conf = f"listen-address 127.0.0.1:{p}\nconfdir /etc/privoxy\nlogdir {w}\n"
    return ["/usr/sbin/privoxy", "--no-daemon", str(write(w / "privoxy.conf", conf))]


def varnish(w: Path, p: int) -> list[str]:
    return [
        "/usr/sbin/varnishd",
        "-F",
        "-a",
        f"127.0.0.1:{p}",
        "-b",
        "127.0.0.1:9",
        "-n",
        str(w / "varnish"),
        "-T",
        "none" if False else f"127.0.0.1:{free_port_near(p)}",
    ]


def apache(w: Path, p: int) -> list[str]:
    mods = "/usr/lib/apache2/modules"
    conf = f"""ServerRoot {w}
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
Listen 127.0.0.1:{p}
PidFile {w}/httpd.pid
ErrorLog {w}/error.log
DocumentRoot {w}
ServerName localhost
"""
    return ["/usr/sbin/apache2", "-X", "-f", str(write(w / "httpd.conf", conf))]


def lighttpd(w: Path, p: int) -> list[str]:
    conf = f'server.port = {p}\nserver.bind = "127.0.0.1"\nserver.document-root = "{w}"\nserver.pid-file = "{w}/l.pid"\n'
    return ["/usr/sbin/lighttpd", "-D", "-f", str(write(w / "lighttpd.conf", conf))]


def caddy(w: Path, p: int) -> list[str]:
    conf = f'{{\n  admin off\n}}\nhttp://127.0.0.1:{p} {{\n  respond "ok"\n}}\n'
    return ["/usr/bin/caddy", "run", "--adapter", "caddyfile", "--config", str(write(w / "Caddyfile", conf))]


APP = "def app(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'ok']\n"


def gunicorn(w: Path, p: int) -> list[str]:
    write(w / "benchapp.py", APP)
    return ["/usr/bin/gunicorn", "--bind", f"127.0.0.1:{p}", "--chdir", str(w), "benchapp:app"]


def werkzeug(w: Path, p: int) -> list[str]:
    write(w / "benchapp.py", APP)
    code = f"import sys; sys.path.insert(0, {str(w)!r}); from werkzeug.serving import run_simple; from benchapp import app; run_simple('127.0.0.1', {p}, app)"
    return ["/usr/bin/python3", "-c", code]


def named(w: Path, p: int) -> list[str]:
    conf = f'options {{ directory "{w}"; listen-on port {p} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }}; pid-file "{w}/named.pid"; recursion no; }};\ncontrols {{ }};\n'
    return ["/usr/sbin/named", "-g", "-u", "bind", "-c", str(write(w / "named.conf", conf))]


def unbound(w: Path, p: int) -> list[str]:
    conf = f'server:\n  interface: 127.0.0.1@{p}\n  do-daemonize: no\n  username: ""\n  chroot: ""\n  pidfile: "{w}/u.pid"\n  use-syslog: no\n  do-ip6: no\nremote-control:\n  control-enable: no\n'
    return ["/usr/sbin/unbound", "-d", "-c", str(write(w / "unbound.conf", conf))]


def dnsmasq(w: Path, p: int) -> list[str]:
    return [
        "/usr/sbin/dnsmasq",
        "-k",
        "-p",
        str(p),
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "-C",
        "/dev/null",
        f"--pid-file={w}/d.pid",
        "-u",
        "nobody",
    ]


def nsd(w: Path, p: int) -> list[str]:
    conf = f'server:\n  ip-address: 127.0.0.1@{p}\n  username: ""\n  chroot: ""\n  zonesdir: "{w}"\n  database: ""\n  pidfile: "{w}/nsd.pid"\n  xfrdfile: "{w}/xfrd.state"\n  zonelistfile: "{w}/zone.list"\n  logfile: "{w}/nsd.log"\n  hide-version: no\nremote-control:\n  control-enable: no\n'
    return ["/usr/sbin/nsd", "-d", "-c", str(write(w / "nsd.conf", conf))]


def knot(w: Path, p: int) -> list[str]:
    conf = f'server:\n  listen: 127.0.0.1@{p}\n  rundir: "{w}"\n  user: root\n  version: ""\ndatabase:\n  storage: "{w}"\n'
    return ["/usr/sbin/knotd", "-c", str(write(w / "knot.conf", conf))]


def pdns_recursor(w: Path, p: int) -> list[str]:
    return [
        "/usr/sbin/pdns_recursor",
        "--local-address=127.0.0.1",
        f"--local-port={p}",
        f"--socket-dir={w}",
        "--daemon=no",
        "--write-pid=no",
        "--config-dir=/nonexistent",
        "--setuid=nobody",
        "--setgid=nogroup",
    ]


def slapd(w: Path, p: int) -> list[str]:
    return ["/usr/sbin/slapd", "-d", "0", "-h", f"ldap://127.0.0.1:{p}/", "-u", "openldap", "-g", "openldap"]


def smbd(w: Path, p: int) -> list[str]:
    conf = f"[global]\nsmb ports = {p}\ninterfaces = lo\nbind interfaces only = yes\npid directory = {w}\nlock directory = {w}\nstate directory = {w}\ncache directory = {w}\nprivate dir = {w}\nlog file = {w}/smb.log\ndisable netbios = yes\n"
    return ["/usr/sbin/smbd", "-F", "--no-process-group", "-s", str(write(w / "smb.conf", conf))]


def xrdp(w: Path, p: int) -> list[str]:
    conf = Path("/etc/xrdp/xrdp.ini").read_text().replace("port=3389", f"port=tcp://127.0.0.1:{p}")
    return ["/usr/sbin/xrdp", "--nodaemon", "--config", str(write(w / "xrdp.ini", conf))]


def danted(w: Path, p: int) -> list[str]:
    conf = f"logoutput: stderr\ninternal: 127.0.0.1 port = {p}\nexternal: lo\nclientmethod: none\nsocksmethod: none\nuser.privileged: root\nuser.unprivileged: nobody\nclient pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\nsocks pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n"
    return ["/usr/sbin/danted", "-f", str(write(w / "danted.conf", conf)), "-p", str(w / "d.pid")]


def haproxy(w: Path, p: int) -> list[str]:
    conf = f"defaults\n  mode http\n  timeout client 10s\n  timeout server 10s\n  timeout connect 5s\nfrontend stats\n  bind 127.0.0.1:{p}\n  stats enable\n  stats uri /\n"
    return ["/usr/sbin/haproxy", "-db", "-f", str(write(w / "haproxy.cfg", conf))]


def beanstalkd(w: Path, p: int) -> list[str]:
    return ["/usr/bin/beanstalkd", "-l", "127.0.0.1", "-p", str(p)]


def pgbouncer(w: Path, p: int) -> list[str]:
    write(w / "users.txt", '"bench" "bench"\n', "postgres")
    conf = f"[databases]\n* = host=127.0.0.1 port=9\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {p}\nauth_file = {w}/users.txt\nunix_socket_dir =\n"
    return ["/usr/sbin/pgbouncer", str(write(w / "pgbouncer.ini", conf, "postgres"))]


def uhub(w: Path, p: int) -> list[str]:
    conf = f"server_port={p}\nserver_bind_addr=127.0.0.1\nfile_acl={write(w / 'acl', '')}\n"
    return ["/usr/bin/uhub", "-c", str(write(w / "uhub.conf", conf))]


def icecast(w: Path, p: int) -> list[str]:
    conf = f"<icecast><limits><sources>1</sources></limits><authentication><source-password>x</source-password><admin-password>x</admin-password></authentication><hostname>localhost</hostname><listen-socket><port>{p}</port><bind-address>127.0.0.1</bind-address></listen-socket><paths><basedir>/usr/share/icecast2</basedir><logdir>{w}</logdir><webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths><logging><errorlog>-</errorlog></logging><security><chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner></security></icecast>"
    return ["/usr/bin/icecast2", "-c", str(write(w / "icecast.xml", conf))]


def mpd(w: Path, p: int) -> list[str]:
    conf = f'bind_to_address "127.0.0.1"\nport "{p}"\ndb_file "{w}/db"\nmusic_directory "{w}"\nstate_file "{w}/state"\npid_file "{w}/pid"\nlog_file "/dev/stderr"\n'
    return ["/usr/bin/mpd", "--no-daemon", "--stderr", str(write(w / "mpd.conf", conf))]


def svnserve(w: Path, p: int) -> list[str]:
    return [
        "/usr/bin/svnserve",
        "-d",
        "--foreground",
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        str(p),
        "-r",
        str(w),
    ]


def mini_httpd(w: Path, p: int) -> list[str]:
    return [
        "/usr/sbin/mini_httpd",
        "-D",
        "-h",
        "127.0.0.1",
        "-p",
        str(p),
        "-d",
        str(w),
        "-u",
        "nobody",
        "-i",
        str(w / "pid"),
    ]


def webfsd(w: Path, p: int) -> list[str]:
    return [
        "/usr/bin/webfsd",
        "-F",
        "-i",
        "127.0.0.1",
        "-p",
        str(p),
        "-r",
        str(w),
        "-u",
        "nobody",
        "-g",
        "nogroup",
    ]


def tor(w: Path, p: int) -> list[str]:
    return [
        "/usr/bin/tor",
        "--ORPort",
        f"127.0.0.1:{p}",
        "--DataDirectory",
        str(w),
        "--SocksPort",
        "0",
        "--AssumeReachable",
        "1",
        "--PublishServerDescriptor",
        "0",
        "--Nickname",
        "bench",
        "--Address",
        "127.0.0.1",
        "--ContactInfo",
        "none",
    ]


def sshd(w: Path, p: int) -> list[str]:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(w / "key")], check=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    return [
        "/usr/sbin/sshd",
        "-D",
        "-e",
        "-f",
        "/dev/null",
        "-h",
        str(w / "key"),
        "-o",
        f"ListenAddress=127.0.0.1:{p}",
        "-o",
        "UsePAM=no",
        "-o",
        f"PidFile={w}/sshd.pid",
    ]


def nginx(w: Path, p: int) -> list[str]:
    conf = f"daemon off; pid {w}/nginx.pid; error_log stderr; events {{ }} http {{ access_log off; client_body_temp_path {w}; proxy_temp_path {w}; fastcgi_temp_path {w}; uwsgi_temp_path {w}; scgi_temp_path {w}; server {{ listen 127.0.0.1:{p}; return 200 ok; }} }}\n"
    return ["/usr/sbin/nginx", "-p", str(w), "-c", str(write(w / "nginx.conf", conf))]


def redis(w: Path, p: int) -> list[str]:
    return ["/usr/bin/redis-server", "--port", str(p), "--bind", "127.0.0.1", "--save", "", "--dir", str(w)]


def memcached(w: Path, p: int) -> list[str]:
    return ["/usr/bin/memcached", "-l", "127.0.0.1", "-p", str(p), "-U", "0", "-u", "nobody"]


def nats(w: Path, p: int) -> list[str]:
    return ["/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", str(p)]


def mosquitto(w: Path, p: int) -> list[str]:
    return [
        "/usr/sbin/mosquitto",
        "-c",
        str(write(w / "m.conf", f"listener {p} 127.0.0.1\nallow_anonymous true\n")),
    ]


def postgres(w: Path, p: int) -> list[str]:
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(bindir / "initdb"), "-D", f"{w}/data", "-A", "trust"],
        capture_output=True,
        check=True,
        cwd="/tmp",
    )
    return [str(bindir / "postgres"), "-D", f"{w}/data", "-k", str(w), "-h", "127.0.0.1", "-p", str(p)]


def _s(name: str, package: str, services: str, product: str, port: int, setup: object, **kw: object) -> Spec:
    return Spec(name, package, tuple(services.split()), product, port, setup, **kw)  # type: ignore[arg-type]


SPECS = [
    _s("vsftpd", "vsftpd", "ftp", "vsftpd", 21, vsftpd),
    _s("openssh", "openssh-server", "ssh", "openssh", 22, sshd),
    _s("dropbear", "dropbear-bin", "ssh", "dropbear", 2222, dropbear),
    _s("telnetd", "inetutils-telnetd", "telnet", "telnet", 23, inetd_telnet, versioned=False),
    _s("exim", "exim4-daemon-light", "smtp", "exim", 25, exim),
    _s("dovecot-imap", "dovecot-imapd", "imap", "dovecot", 143, dovecot("imap"), versioned=False),
    _s("dovecot-pop3", "dovecot-pop3d", "pop3", "dovecot", 110, dovecot("pop3"), versioned=False),
    _s("ngircd", "ngircd", "irc", "ngircd", 6667, ngircd),
    _s("inspircd", "inspircd", "irc", "inspircd", 6668, inspircd, user="irc"),
    _s(
        "prosody",
        "prosody",
        "xmpp xmpp-client jabber",
        "prosody",
        5222,
        prosody,
        user="prosody",
        versioned=False,
    ),
    _s("inn-nnrpd", "inn2", "nntp", "inn", 119, nnrpd, user="news"),
    _s("rsyncd", "rsync", "rsync", "rsync", 873, rsyncd, versioned=False),
    _s("cups", "cups-daemon", "ipp http", "cups", 631, cupsd, note=PROBE_HALF),
    _s("tigervnc", "tigervnc-standalone-server", "vnc", "vnc", 5901, xvnc(41)),
    _s("x11-xvnc", "tigervnc-standalone-server", "x11", "x.org|x11", 6009, xvnc_x11, versioned=False),
    _s("mariadb", "mariadb-server", "mysql", "mariadb", 3306, mariadb),
    _s(
        "postgresql",
        "postgresql-15",
        "postgresql",
        "postgresql",
        5432,
        postgres,
        user="postgres",
        versioned=False,
    ),
    _s("redis", "redis-server", "redis", "redis", 6379, redis, user="redis"),
    _s("memcached", "memcached", "memcached", "memcached", 11211, memcached),
    _s("influxdb", "influxdb", "http influxdb", "influx", 8086, influxd),
    _s("etcd", "etcd-server", "etcd http etcd-client", "etcd", 2379, etcd),
    _s(
        "node-exporter",
        "prometheus-node-exporter",
        "http prometheus",
        "node.exporter|prometheus",
        9100,
        node_exporter,
    ),
    _s("zabbix-agent", "zabbix-agent", "zabbix-agent zabbix", "zabbix", 10050, zabbix_agent, user="zabbix"),
    _s("nrpe", "nagios-nrpe-server", "nrpe ssl/nrpe", "nrpe", 5666, nrpe, note=TLS_HALF),
    _s(
        "rabbitmq",
        "rabbitmq-server",
        "amqp",
        "rabbitmq",
        5672,
        rabbitmq,
        user="rabbitmq",
        wait=60.0,
        note=PROBE_HALF,
    ),
    _s("git-daemon", "git", "git", "git", 9418, git_daemon, versioned=False),
    _s("distccd", "distcc", "distccd distcc", "distcc", 3632, distccd),
    _s("squid", "squid", "http-proxy http squid-http", "squid", 3128, squid, user="proxy"),
    _s("tinyproxy", "tinyproxy", "http-proxy http", "tinyproxy", 8888, tinyproxy),
    _s("privoxy", "privoxy", "http-proxy http", "privoxy", 8118, privoxy, user="privoxy"),
    _s("varnish", "varnish", "http http-proxy", "varnish", 6081, varnish),
    _s("apache", "apache2-bin", "http", "apache", 80, apache),
    _s("nginx", "nginx", "http", "nginx", 8080, nginx),
    _s("lighttpd", "lighttpd", "http", "lighttpd", 8081, lighttpd),
    _s("caddy", "caddy", "http", "caddy", 8082, caddy, versioned=False, note=HEADER_HALF),
    _s("gunicorn", "gunicorn", "http", "gunicorn", 8000, gunicorn, note=HEADER_HALF),
    _s("werkzeug", "python3-werkzeug", "http", "werkzeug", 5000, werkzeug),
    _s("mini_httpd", "mini-httpd", "http", "mini.httpd", 8083, mini_httpd),
    _s("webfsd", "webfs", "http", "webfs", 8084, webfsd),
    _s("haproxy", "haproxy", "http", "haproxy", 8085, haproxy),
    _s("bind9", "bind9", "domain dns", "bind", 53, named, note=PROBE_HALF),
    _s("unbound", "unbound", "domain dns", "unbound", 5353, unbound, note=PROBE_HALF),
    _s("dnsmasq", "dnsmasq-base", "domain dns", "dnsmasq", 5354, dnsmasq, note=PROBE_HALF),
    _s("nsd", "nsd", "domain dns", "nsd", 5355, nsd, note=PROBE_HALF),
    _s("knot", "knot", "domain dns", "knot", 5356, knot, note=PROBE_HALF),
    _s("pdns-recursor", "pdns-recursor", "domain dns", "powerdns", 5357, pdns_recursor, note=PROBE_HALF),
    _s("slapd", "slapd", "ldap", "openldap", 389, slapd, note=PROBE_HALF, versioned=False),
    _s("samba", "samba", "microsoft-ds smb netbios-ssn", "samba", 445, smbd, note=PROBE_HALF),
    _s("xrdp", "xrdp", "ms-wbt-server rdp", "xrdp", 3389, xrdp, note=PROBE_HALF, versioned=False),
    _s("dante", "dante-server", "socks5 socks", "dante", 1080, danted, note=PROBE_HALF, versioned=False),
    _s("beanstalkd", "beanstalkd", "beanstalkd", "beanstalkd", 11300, beanstalkd),
    _s(
        "pgbouncer",
        "pgbouncer",
        "postgresql pgbouncer",
        "pgbouncer",
        6432,
        pgbouncer,
        user="postgres",
        versioned=False,
    ),
    _s("uhub", "uhub", "adc dc", "uhub", 1511, uhub),
    _s("icecast", "icecast2", "http", "icecast", 8001, icecast),
    _s("mpd", "mpd", "mpd", "mpd|music player", 6600, mpd),
    _s("svnserve", "subversion", "svn svnserve", "subversion", 3690, svnserve),
    _s("nats", "nats-server", "nats", "nats", 4222, nats),
    _s("mosquitto", "mosquitto", "mqtt", "mosquitto", 1883, mosquitto),
    _s("tor", "tor", "tor-orport ssl/tor-orport ssl", "tor", 9001, tor, note=TLS_HALF, versioned=False),
]
