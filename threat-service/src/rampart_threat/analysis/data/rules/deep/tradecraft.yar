// Lower-confidence and broader rules, run in deep and sandbox modes only.

rule credential_dumping_tool
{
    meta:
        weight = 60
        attack = "T1003.001"
        description = "credential dumping tool or LSASS access"
        source = "MITRE ATT&CK T1003.001 LSASS Memory"
    strings:
        $mimikatz = "sekurlsa::logonpasswords" nocase
        $mimi2 = "mimikatz" nocase
        $comsvcs = /comsvcs(\.dll)?[,\s]+minidump/ nocase
        $procdump = /procdump(64)?(\.exe)?\s[^\n]{0,20}-ma\s+lsass/ nocase
    condition:
        any of them
}

rule persistence_command
{
    meta:
        weight = 35
        attack = "T1053,T1547.001"
        description = "creates a scheduled task, cron entry or Run key"
        source = "MITRE ATT&CK T1053 Scheduled Task/Job; T1547.001 Registry Run Keys"
    strings:
        $schtasks = /schtasks(\.exe)?\s+\/create/ nocase
        $runkey = /CurrentVersion\\Run(Once)?\b/ nocase
        $cron = /(crontab\s+-|\/etc\/cron\.d\/|echo\s[^\n]{0,100}>>?\s*\/var\/spool\/cron)/ nocase
        $authkeys = />>\s*~?\/?[a-z\/]{0,20}\.ssh\/authorized_keys/ nocase
    condition:
        any of them
}

rule defense_evasion
{
    meta:
        weight = 35
        attack = "T1562.001,T1070"
        description = "disables security tools or clears logs"
        source = "MITRE ATT&CK T1562.001 Disable or Modify Tools; T1070 Indicator Removal"
    strings:
        $defender = /Set-MpPreference\s[^\n]{0,40}-Disable(RealtimeMonitoring|IOAVProtection)/ nocase
        $amsi = /(AmsiUtils|amsiInitFailed)/ nocase
        $wevtutil = /wevtutil(\.exe)?\s+cl\b/ nocase
        $history = /(history\s+-c|unset\s+HISTFILE|HISTFILE=\/dev\/null)/
        $shadow = /vssadmin(\.exe)?\s+delete\s+shadows/ nocase
    condition:
        any of them
}

rule obfuscated_script
{
    meta:
        weight = 25
        attack = "T1027"
        description = "script obfuscation: character-code assembly or packed eval"
        source = "MITRE ATT&CK T1027 Obfuscated Files or Information"
    strings:
        $charcode = /String\.fromCharCode\(\s*\d{2,3}(\s*,\s*\d{2,3}){8,}/ nocase
        $packer = "eval(function(p,a,c,k,e," nocase
        $chr = /(\[char\]\s*\d{2,3}\s*\+\s*){6,}/ nocase
        $unescape = /eval\s*\(\s*unescape\s*\(/ nocase
    condition:
        any of them
}
