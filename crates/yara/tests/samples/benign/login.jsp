<%@ page import="java.security.MessageDigest, javax.crypto.Mac, javax.crypto.spec.SecretKeySpec" %>
<%
  // Signs the session token with HMAC-SHA256 (javax.crypto), no class loading.
  String user = request.getParameter("user");
  Mac mac = Mac.getInstance("HmacSHA256");
  mac.init(new SecretKeySpec(application.getInitParameter("tokenKey").getBytes("UTF-8"), "HmacSHA256"));
  String token = java.util.Base64.getEncoder().encodeToString(mac.doFinal(user.getBytes("UTF-8")));
  session.setAttribute("token", token);
  ClassLoader cl = Thread.currentThread().getContextClassLoader();
  response.sendRedirect("home.jsp");
%>
