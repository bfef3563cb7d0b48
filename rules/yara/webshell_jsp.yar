/*
    tiaki project rule pack: JSP web shells (source and compiled classes).

    Written by the tiaki project from public descriptions of the shells
    (no text copied from other rule sets).
*/

rule tiaki_webshell_jsp_cmd_exec_request : webshell jsp
{
    meta:
        description = "JSP web shell that runs a command taken from the request (Runtime.getRuntime().exec(request.getParameter(...)) or new ProcessBuilder(...))"
        author = "tiaki project"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        attack = "T1505.003"
        level = "high"
        date = "2026-11-29"

    strings:
        $runtime_exec = /Runtime\s{0,10}\.\s{0,10}getRuntime\s{0,10}\(\s{0,10}\)\s{0,10}\.\s{0,10}exec\s{0,10}\(/
        $process_builder = /new\s{1,10}(java\.lang\.)?ProcessBuilder\s{0,10}\(/
        $request = /request\s{0,10}\.\s{0,10}(getParameter|getHeader|getInputStream|getReader|getQueryString)\s{0,10}\(/
        $jsp_tag = "<%"
        $jsp_scriptlet = "<jsp:scriptlet"

    condition:
        filesize < 200KB
        and ($runtime_exec or $process_builder)
        and $request
        and any of ($jsp_*)
}

rule tiaki_webshell_jsp_class_cmd_exec : webshell jsp java_class
{
    meta:
        description = "Compiled JSP page (Jasper class org/apache/jsp/*_jsp) that calls Runtime.exec or ProcessBuilder and reads request parameters: a JSP command shell after compilation (cf. Index_jsp.class in the APT40 advisory)"
        author = "tiaki project"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa24-190a"
        attack = "T1505.003"
        level = "high"
        intrusion_set = "APT40"
        note = "Advisory artefacts were compiled JSP classes; the technique is common to many actors"
        date = "2026-11-29"

    strings:
        $jasper = "org/apache/jsp/"
        $runtime = "java/lang/Runtime"
        // CONSTANT_Utf8 entries of the class constant pool: tag 1, u2 length, bytes
        $cp_exec = { 01 00 04 65 78 65 63 }                               // "exec"
        $cp_get_runtime = { 01 00 0A 67 65 74 52 75 6E 74 69 6D 65 }      // "getRuntime"
        $process_builder = "java/lang/ProcessBuilder"
        $cp_get_parameter = { 01 00 0C 67 65 74 50 61 72 61 6D 65 74 65 72 } // "getParameter"
        $servlet_request = /(javax|jakarta)\/servlet\/(http\/Http)?ServletRequest/

    condition:
        uint32be(0) == 0xCAFEBABE
        and filesize < 2MB
        and $jasper
        and (($runtime and $cp_exec and $cp_get_runtime) or $process_builder)
        and $cp_get_parameter
        and $servlet_request
}

rule tiaki_webshell_jsp_aes_classloader : webshell jsp encrypted
{
    meta:
        description = "Encrypted JSP web shell (Behinder / Godzilla style): decrypts request data with javax.crypto.Cipher and defines a class from it with a custom ClassLoader, keeping the key in the session"
        author = "tiaki project"
        reference = "https://unit42.paloaltonetworks.com/manageengine-godzilla-nglite-kdcsponge/"
        attack = "T1505.003"
        level = "critical"
        date = "2026-11-29"

    strings:
        $cipher = /Cipher\s{0,10}\.\s{0,10}getInstance\s{0,10}\(/
        $crypto_pkg = "javax.crypto"
        $define_class = "defineClass"
        $class_loader = "ClassLoader"
        $request = /request\s{0,10}\.\s{0,10}(getParameter|getReader|getInputStream|getHeader)\s{0,10}\(/
        $session_put = /session\s{0,10}\.\s{0,10}(putValue|setAttribute)\s{0,10}\(/
        $session_get = "getSession"
        $page_context = "pageContext"
        $jsp_tag = "<%"
        $jsp_scriptlet = "<jsp:"

    condition:
        filesize < 200KB
        and ($cipher or $crypto_pkg)
        and $define_class and $class_loader
        and $request
        and ($session_put or $session_get or $page_context)
        and ($jsp_tag or $jsp_scriptlet)
}
