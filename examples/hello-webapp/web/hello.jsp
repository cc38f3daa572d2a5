<%@ page contentType="text/plain; charset=UTF-8" %><%--
  Compiled by Jasper when first requested: the arithmetic below only turns into
  a number when JSP works. The greeting comes from WEB-INF/web.xml, which the
  builder writes from its "greeting" parameter.
--%>greeting: <%= application.getInitParameter("greeting") %>
six times seven: <%= 6 * 7 %>
served by: <%= application.getServerInfo() %>
