// Rampart's own rules for attack payloads. Each rule's meta gives the points it adds
// (weight), ATT&CK technique ids (attack) and where the pattern is documented (source).
// Written for Rampart; the patterns are public knowledge (OWASP, MITRE ATT&CK, CVE advisories).

rule log4shell_lookup
{
    meta:
        weight = 75
        attack = "T1190"
        description = "JNDI lookup (Log4Shell-style) in a logged string"
        source = "CVE-2021-44228 advisory; Apache Log4j security page"
    strings:
        $jndi = /\$\{\s*jndi\s*:\s*(ldap|ldaps|rmi|dns|iiop|corba|nds|http)s?\s*:/ nocase
        $nested = /\$\{[^}]{0,40}\$\{(lower|upper|env|sys|::-)[^}]{0,40}\}/ nocase
    condition:
        any of them
}

rule reverse_shell
{
    meta:
        weight = 80
        attack = "T1059.004"
        description = "interactive shell bound to a network connection"
        source = "PayloadsAllTheThings Reverse Shell Cheatsheet; GTFOBins"
    strings:
        $devtcp = /\/dev\/(tcp|udp)\/[0-9A-Za-z.\-]{1,64}\/[0-9]{1,5}/
        $nc_e = /\b(nc|ncat|netcat)\b[^\n|;]{0,60}\s-[a-z]*e\s*\/?(bin\/)?(ba|z|k)?sh/ nocase
        $mkfifo = /mkfifo\s+\/tmp\/[a-z0-9_]{1,20}[^\n]{0,80}\b(nc|ncat|telnet)\b/ nocase
        $py = /socket\.socket\([^)]{0,80}\)[^\n]{0,200}(dup2|pty\.spawn|subprocess\.call)/
        $socat = /socat\s[^\n]{0,80}exec:[^\n]{0,40}(bash|sh)\b/ nocase
        $ps = "System.Net.Sockets.TCPClient" nocase
        $perl = /perl\s+-e[^\n]{0,40}socket\(/ nocase
    condition:
        any of them
}

rule download_cradle
{
    meta:
        weight = 60
        attack = "T1105,T1059.001"
        description = "downloads code and runs it in one line"
        source = "MITRE ATT&CK T1105 Ingress Tool Transfer; Red Canary threat reports"
    strings:
        $iex_dl = /(IEX|Invoke-Expression)[\s(]{1,3}[^\n]{0,60}(DownloadString|DownloadData|Invoke-WebRequest|iwr|irm|Invoke-RestMethod)/ nocase
        $dl_iex = /(DownloadString|Invoke-RestMethod|irm)\b[^\n]{0,120}\|\s*(IEX|Invoke-Expression)/ nocase
        $curl_sh = /(curl|wget)\s[^\n|;]{0,200}\|\s*(sudo\s+)?(ba|z|k)?sh\b/ nocase
        $certutil = /certutil(\.exe)?\s[^\n]{0,40}-urlcache[^\n]{0,40}-f\s/ nocase
        $bitsadmin = /bitsadmin(\.exe)?\s[^\n]{0,40}\/transfer/ nocase
        $mshta = /mshta(\.exe)?\s+["']?(https?|vbscript|javascript):/ nocase
        $regsvr = /regsvr32(\.exe)?\s[^\n]{0,40}\/i:https?:/ nocase
        $rundll_js = /rundll32(\.exe)?\s[^\n]{0,20}javascript:/ nocase
    condition:
        any of them
}

rule encoded_powershell
{
    meta:
        weight = 35
        attack = "T1059.001,T1027"
        description = "PowerShell run with an encoded or hidden command"
        source = "MITRE ATT&CK T1027 Obfuscated Files or Information; Microsoft PowerShell docs"
    strings:
        $enc = /powershell(\.exe)?\s[^\n]{0,80}-e(nc|ncodedcommand|ncodedc)?\s+[A-Za-z0-9+\/=]{16,}/ nocase
        $hidden = /powershell(\.exe)?\s[^\n]{0,80}-w(indowstyle)?\s+h(idden)?\b/ nocase
        $bypass = /-exec(utionpolicy)?\s+bypass/ nocase
        $frombase64 = "FromBase64String" nocase
    condition:
        any of them
}

rule web_shell
{
    meta:
        weight = 70
        attack = "T1505.003"
        description = "server-side code that runs what a request sends"
        source = "MITRE ATT&CK T1505.003 Web Shell; CISA/NSA web shell guidance (2020)"
    strings:
        $php_eval = /(eval|assert|system|passthru|shell_exec|exec|popen|proc_open)\s*\(\s*(base64_decode\s*\(\s*)?\$_(GET|POST|REQUEST|COOKIE|SERVER)/ nocase
        $php_create = /create_function\s*\([^)]{0,40}\$_(GET|POST|REQUEST)/ nocase
        $php_preg = /preg_replace\s*\(\s*["'][^"']{0,40}\/e["']/ nocase
        $asp = /eval\s*\(?\s*request\s*(\.item)?\s*\(/ nocase
        $jsp = /Runtime\.getRuntime\(\)\.exec\(\s*request\.getParameter/ nocase
        $backtick = /`\s*\$_(GET|POST|REQUEST)\[/ nocase
    condition:
        any of them
}

rule sql_injection
{
    meta:
        weight = 45
        attack = "T1190"
        description = "SQL injection probe or payload"
        source = "OWASP Testing Guide WSTG-INPV-05; PayloadsAllTheThings SQL Injection"
    strings:
        $union = /union(\s|\/\*.{0,10}\*\/|%20|\+)+(all(\s|\+)+)?select(\s|\+|\/\*)/ nocase
        $tautology = /['"]\s*(or|and)\s+['"]?\w{1,10}['"]?\s*=\s*['"]?\w{1,10}['"]?\s*(--|#|\/\*)/ nocase
        $or1 = /['"]\s*or\s+1\s*=\s*1/ nocase
        $sleep = /(sleep\s*\(\s*\d{1,3}\s*\)|waitfor\s+delay\s+'|benchmark\s*\(\s*\d{4,})/ nocase
        $stacked = /;\s*(drop|truncate)\s+table\s/ nocase
        $schema = /information_schema\.(tables|columns)/ nocase
        $xp = "xp_cmdshell" nocase
        $load = /load_file\s*\(\s*['"0x]/ nocase
    condition:
        any of them
}

rule cross_site_scripting
{
    meta:
        weight = 45
        attack = "T1189"
        description = "script injected into markup"
        source = "OWASP XSS Filter Evasion Cheat Sheet; PortSwigger XSS cheat sheet"
    strings:
        $script = /<script[\s>\/][^<]{0,200}(alert|prompt|confirm|document\.cookie|fetch|eval|atob|src\s*=\s*["']?(https?:)?\/\/)/ nocase
        $handler = /<(img|svg|body|iframe|input|details|video|audio|a)\b[^>]{0,100}\bon(error|load|mouseover|focus|toggle|click|begin)\s*=/ nocase
        $jsurl = /(href|src|action)\s*=\s*["']?\s*javascript:/ nocase
        $cookie = /document\.cookie[^\n]{0,60}(location|fetch|new\s+Image|XMLHttpRequest)/ nocase
    condition:
        any of them
}

rule template_injection
{
    meta:
        weight = 45
        attack = "T1190"
        description = "server-side template injection"
        source = "PortSwigger Research 'Server-Side Template Injection' (2015); PayloadsAllTheThings SSTI"
    strings:
        $jinja = /\{\{[^}]{0,80}(__class__|__mro__|__subclasses__|__globals__|__builtins__|config\.items|self\._TemplateReference|cycler|joiner|lipsum)/
        $math = /\{\{\s*7\s*\*\s*['"]?7['"]?\s*\}\}/
        $el = /\$\{[^}]{0,40}(T\(java\.lang\.Runtime\)|getClass\(\)\.forName|Runtime\.getRuntime)/
        $freemarker = /<#assign[^>]{0,60}freemarker\.template\.utility\.Execute/ nocase
        $erb = /<%=\s*(system|`|IO\.popen|exec)\b/
    condition:
        any of them
}

rule path_traversal
{
    meta:
        weight = 40
        attack = "T1083"
        description = "directory traversal to a sensitive file"
        source = "OWASP WSTG-ATHZ-01 Testing Directory Traversal; CWE-22"
    strings:
        $dots = /(\.\.(\/|\\|%2f|%5c|%c0%af)){2,}/ nocase
        $passwd = /(\/etc\/(passwd|shadow)|\\windows\\win\.ini|\/proc\/self\/environ|boot\.ini)/ nocase
        $encoded = /(%2e%2e|%252e%252e|\.\.%2f|%2e%2e%2f)/ nocase
    condition:
        $passwd or #dots > 0 or $encoded
}

rule command_injection
{
    meta:
        weight = 45
        attack = "T1059"
        description = "shell metacharacters chaining a command"
        source = "OWASP WSTG-INPV-12 Testing for Command Injection; CWE-78"
    strings:
        $chain = /(;|\|\||&&|\||`|\$\()\s*(cat|id|whoami|uname|wget|curl|nc|ping\s+-c|sleep|rm\s+-rf|chmod|bash|sh|python|perl)\b[^\n]{0,40}/
        $subst = /\$\((id|whoami|uname|cat\s+\/etc)/
        $newline = /%0a\s*(id|whoami|cat|uname)\b/ nocase
    condition:
        any of them
}
