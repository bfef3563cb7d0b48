<%@ page contentType="text/html;charset=UTF-8" language="java" %>
<%@ taglib prefix="c" uri="http://java.sun.com/jsp/jstl/core" %>
<%
  String q = request.getParameter("q");
  session.setAttribute("lastQuery", q);
  java.util.List<String> results = portal.Search.run(q == null ? "" : q);
  pageContext.setAttribute("results", results);
%>
<html><body>
<h1>Results for <c:out value="${param.q}"/></h1>
<ul><c:forEach var="r" items="${results}"><li><c:out value="${r}"/></li></c:forEach></ul>
</body></html>
