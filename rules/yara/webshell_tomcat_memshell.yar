/*
    tiaki project rule pack: Tomcat in-memory web shells.

    A memory shell leaves no page in the web root: a JSP page, a class file or
    a deserialisation payload registers a Filter, Servlet, Listener or Valve in
    the running Tomcat (StandardContext) and then executes request input. What
    can be found on disk is the dropper (JSP source, compiled class, or the
    class bytes in a payload). Written by the tiaki project (no text copied
    from other rule sets).
*/

rule tiaki_webshell_tomcat_memshell_inject : webshell jsp java_class tomcat memshell
{
    meta:
        description = "Tomcat memory-shell dropper: reaches the StandardContext, registers a Filter/Servlet/Listener/Valve at run time (addFilterDef, addFilterMapBefore, addApplicationEventListener, addValve...) and executes commands or loads classes from request input"
        author = "tiaki project"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa24-190a"
        attack = "T1505.003"
        level = "critical"
        intrusion_set = "APT40"
        note = "APT40 left a Tomcat listener memory shell (Nova_jsp$TomcatListenerMemShellFromThread); the templates are public and widely used"
        date = "2026-11-29"

    strings:
        $ctx_dotted = "org.apache.catalina.core.StandardContext"
        $ctx_slashed = "org/apache/catalina/core/StandardContext"
        $ctx_webapp_loader = "WebappClassLoaderBase"
        $ctx_app_context = "org.apache.catalina.core.ApplicationContext"

        $inject_filter_def = "addFilterDef"
        $inject_filter_map = "addFilterMap"
        $inject_listener = "addApplicationEventListener"
        $inject_valve = "addValve"
        $inject_servlet = "addServletMapping"
        $inject_filter_config = "ApplicationFilterConfig"

        $exec_runtime_text = /getRuntime\s{0,10}\(\s{0,10}\)\s{0,10}\.\s{0,10}exec\s{0,10}\(/
        $exec_runtime_class = "java/lang/Runtime"
        $cp_exec = { 01 00 04 65 78 65 63 }   // CONSTANT_Utf8 "exec"
        $exec_process_builder = "ProcessBuilder"
        $exec_define_class = "defineClass"

        $input_parameter = "getParameter"
        $input_header = "getHeader"
        $input_stream = "getInputStream"
        $input_reader = "getReader"

    condition:
        filesize < 2MB
        and any of ($ctx_*)
        and any of ($inject_*)
        and ($exec_runtime_text
             or ($exec_runtime_class and $cp_exec)
             or $exec_process_builder
             or $exec_define_class)
        and any of ($input_*)
}

rule tiaki_webshell_tomcat_memshell_template_name : webshell java_class tomcat memshell
{
    meta:
        description = "File (class, JSP, payload, or a log with its stack trace) carrying the name of a public Tomcat memory-shell template (e.g. TomcatListenerMemShellFromThread, found as an inner class of Nova_jsp in the APT40 advisory)"
        author = "tiaki project"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa24-190a"
        attack = "T1505.003"
        level = "high"
        intrusion_set = "APT40"
        note = "Template names are public; renaming them defeats this rule"
        date = "2026-11-29"

    strings:
        $name = /Tomcat(Listener|Filter|Servlet|Valve)MemShell/

    condition:
        filesize < 2MB and $name
}
