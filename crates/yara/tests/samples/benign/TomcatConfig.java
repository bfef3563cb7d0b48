package nz.example.portal.config;

import org.apache.catalina.Context;
import org.apache.catalina.core.StandardContext;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.springframework.boot.web.embedded.tomcat.TomcatServletWebServerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Embedded Tomcat: registers the request-id filter before every other filter. */
@Configuration
public class TomcatConfig {
    @Bean
    public TomcatServletWebServerFactory tomcatFactory() {
        TomcatServletWebServerFactory factory = new TomcatServletWebServerFactory();
        factory.addContextCustomizers((Context context) -> {
            StandardContext standard = (StandardContext) context;
            FilterDef def = new FilterDef();
            def.setFilterName("requestId");
            def.setFilterClass(RequestIdFilter.class.getName());
            standard.addFilterDef(def);
            FilterMap map = new FilterMap();
            map.setFilterName("requestId");
            map.addURLPattern("/*");
            standard.addFilterMapBefore(map);
            standard.addApplicationListener("nz.example.portal.AuditListener");
        });
        return factory;
    }

    /** Copies X-Request-Id into the logging context. */
    public static class RequestIdFilter implements javax.servlet.Filter {
        public void doFilter(javax.servlet.ServletRequest req, javax.servlet.ServletResponse res, javax.servlet.FilterChain chain)
                throws java.io.IOException, javax.servlet.ServletException {
            String id = ((javax.servlet.http.HttpServletRequest) req).getHeader("X-Request-Id");
            org.slf4j.MDC.put("requestId", id == null ? java.util.UUID.randomUUID().toString() : id);
            chain.doFilter(req, res);
        }
    }
}
