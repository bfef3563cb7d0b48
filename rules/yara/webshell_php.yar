/*
    tiaki project rule pack: PHP web shells.

    Written by the tiaki project (no text copied from other rule sets).
*/

rule tiaki_webshell_php_eval_request : webshell php
{
    meta:
        description = "Small PHP script that evaluates or executes request input directly (eval($_POST[...]), assert($_REQUEST[...]), system($_GET[...]), $_GET['f']($_POST['c']))"
        author = "tiaki project"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        attack = "T1505.003"
        level = "high"
        date = "2026-11-29"

    strings:
        $php = "<?"
        $eval_input = /\b(eval|assert|create_function|system|passthru|shell_exec|exec|popen|proc_open)\s{0,10}\(\s{0,10}(@\s{0,5})?(stripslashes\s{0,10}\(\s{0,10}|base64_decode\s{0,10}\(\s{0,10}|str_rot13\s{0,10}\(\s{0,10}|gzinflate\s{0,10}\(\s{0,10}){0,3}\$_(POST|GET|REQUEST|COOKIE|SERVER)\s{0,10}\[/ nocase
        $variable_call = /\$_(POST|GET|REQUEST|COOKIE)\s{0,10}\[[^\]]{1,40}\]\s{0,10}\(\s{0,10}\$_(POST|GET|REQUEST|COOKIE)/ nocase

    condition:
        filesize < 200KB
        and $php
        and ($eval_input or $variable_call)
}
