/*
    tiaki project rule pack: ASP / ASPX web shells.

    Written by the tiaki project from public descriptions of the shells
    (no text copied from other rule sets). Each rule needs a combination of
    a server-side page marker and code that runs request input, and is
    limited to small files, to keep false positives on ordinary pages low.
*/

rule tiaki_webshell_aspx_chopper_eval : webshell aspx
{
    meta:
        description = "One-line ASP/ASPX web shell that evaluates request input (China Chopper style, e.g. eval(Request.Item[\"x\"],\"unsafe\"))"
        author = "tiaki project"
        reference = "https://attack.mitre.org/software/S0020/"
        attack = "T1505.003"
        level = "critical"
        intrusion_set = "APT40"
        note = "China Chopper is shared by many actors: a hit is not attribution on its own"
        date = "2026-11-29"

    strings:
        // ascii wide: pages saved as UTF-16 (Visual Studio can) match too
        // eval / Execute of a Request collection: eval(Request.Item["x"] ...), eval request("x")
        $eval_request = /\b(eval|execute|executeglobal)\s{0,10}\(?\s{0,10}request\s{0,10}(\.\s{0,10}(item|form|querystring|params|cookies)\s{0,10})?[\(\[]/ nocase ascii wide
        // JScript.NET eval with the "unsafe" option, the request read elsewhere
        $eval_unsafe = /\beval\s{0,10}\([^)]{1,200},\s{0,10}"unsafe"\s{0,10}\)/ nocase ascii wide
        $request = "Request" nocase ascii wide
        $server_tag = "<%" ascii wide
        $server_script = /runat\s{0,5}=\s{0,5}"?server/ nocase ascii wide

    condition:
        filesize < 200KB
        and ($eval_request or ($eval_unsafe and $request))
        and any of ($server_*)
}

rule tiaki_webshell_aspx_assembly_load_request : webshell aspx
{
    meta:
        description = "ASPX page that loads a .NET assembly sent in the request (Assembly.Load(Convert.FromBase64String(Request[...])) or Request.BinaryRead), the loader of Chopper-like and AntSword/Behinder-like shells"
        author = "tiaki project"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        attack = "T1505.003"
        level = "critical"
        date = "2026-11-29"

    strings:
        $load = /Assembly\s{0,10}\.\s{0,10}Load\s{0,10}\(/ nocase
        $load_reflect = /GetMethod\s{0,10}\(\s{0,10}"Load"/ nocase
        $b64 = "FromBase64String" nocase
        $body = /Request\s{0,10}\.\s{0,10}(BinaryRead|InputStream)/ nocase
        $request = /Request\s{0,10}(\.\s{0,10}(Form|Item|QueryString|Params|Headers|Cookies)\s{0,10})?[\[\(]/ nocase
        // the encrypted variants are reported by tiaki_webshell_aspx_aes_assembly_load
        $crypto = /(RijndaelManaged|AesManaged|AesCryptoServiceProvider|Aes\s{0,5}\.\s{0,5}Create\s{0,5}\(|CreateDecryptor|TransformFinalBlock)/ nocase
        $server_tag = "<%"
        $server_script = /runat\s{0,5}=\s{0,5}"?server/ nocase

    condition:
        filesize < 200KB
        and ($load or $load_reflect)
        and (($b64 and $request) or $body)
        and not $crypto
        and any of ($server_*)
}

rule tiaki_webshell_aspx_aes_assembly_load : webshell aspx encrypted
{
    meta:
        description = "Encrypted ASPX web shell (Behinder / Godzilla style): decrypts the request body or a request field with AES/Rijndael and loads the result as a .NET assembly"
        author = "tiaki project"
        reference = "https://unit42.paloaltonetworks.com/manageengine-godzilla-nglite-kdcsponge/"
        attack = "T1505.003"
        level = "critical"
        date = "2026-11-29"

    strings:
        $load = /Assembly\s{0,10}\.\s{0,10}Load\s{0,10}\(/ nocase
        $load_reflect = /GetMethod\s{0,10}\(\s{0,10}"Load"/ nocase
        $crypto = /(RijndaelManaged|AesManaged|AesCryptoServiceProvider|Aes\s{0,5}\.\s{0,5}Create\s{0,5}\(|CreateDecryptor|TransformFinalBlock)/ nocase
        $body = /Request\s{0,10}\.\s{0,10}(BinaryRead|InputStream)/ nocase
        $request = /Request\s{0,10}(\.\s{0,10}(Form|Item|QueryString|Params|Headers|Cookies)\s{0,10})?[\[\(]/ nocase
        $server_tag = "<%"
        $server_script = /runat\s{0,5}=\s{0,5}"?server/ nocase

    condition:
        filesize < 200KB
        and ($load or $load_reflect)
        and $crypto
        and ($body or $request)
        and any of ($server_*)
}

rule tiaki_webshell_aspx_process_start_request : webshell aspx
{
    meta:
        description = "ASPX/ASHX command shell: starts cmd.exe or PowerShell (Process.Start / ProcessStartInfo) with request input and returns its output"
        author = "tiaki project"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        attack = "T1505.003"
        level = "high"
        date = "2026-11-29"

    strings:
        $start = /Process\s{0,10}\.\s{0,10}Start\s{0,10}\(/ nocase
        $start_info = "ProcessStartInfo" nocase
        $request = /Request\s{0,10}(\.\s{0,10}(Form|Item|QueryString|Params|Headers|Cookies)\s{0,10})?[\[\(]/ nocase
        $shell_cmd = "cmd.exe" nocase
        $shell_ps = "powershell" nocase
        $stdout = "RedirectStandardOutput" nocase
        $page = /<%@\s{0,10}(Page|WebHandler)/ nocase
        $server_script = /runat\s{0,5}=\s{0,5}"?server/ nocase

    condition:
        filesize < 200KB
        and ($start or $start_info)
        and $request
        and ($shell_cmd or $shell_ps or $stdout)
        and ($page or $server_script)
}
