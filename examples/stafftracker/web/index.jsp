<%--
  One page per StaffTracker web application: runs the query of WEB-INF/web.xml
  (context parameter list.query) on every request, over JDBC with the MariaDB
  driver in WEB-INF/lib, and lists the first column of each row, one per <li>.
  The connection settings are context parameters too (jdbc.*), written by the
  builder from the database's container properties.
--%><%@ page contentType="text/html; charset=UTF-8" pageEncoding="UTF-8" session="false"
    import="java.sql.Connection, java.sql.DriverManager, java.sql.PreparedStatement, java.sql.ResultSet, java.sql.SQLException, java.util.ArrayList, java.util.List, java.util.Properties" %><%!
  private static String html(String text) {
    if (text == null) return "";
    StringBuilder out = new StringBuilder(text.length());
    for (char c : text.toCharArray()) {
      switch (c) {
        case '&': out.append("&amp;"); break;
        case '<': out.append("&lt;"); break;
        case '>': out.append("&gt;"); break;
        case '"': out.append("&quot;"); break;
        case '\'': out.append("&#39;"); break;
        default: out.append(c);
      }
    }
    return out.toString();
  }
%><%
  String title = application.getInitParameter("list.title");
  String query = application.getInitParameter("list.query");
  String host = application.getInitParameter("jdbc.host");
  String port = application.getInitParameter("jdbc.port");
  String database = application.getInitParameter("jdbc.database");
  String where = host + ":" + port + "/" + database;

  List<String> rows = new ArrayList<>();
  String error = null;
  try {
    Class.forName("org.mariadb.jdbc.Driver");
    // The password goes in the properties, not the URL, so no error message can show it.
    Properties login = new Properties();
    login.setProperty("user", application.getInitParameter("jdbc.user"));
    login.setProperty("password", application.getInitParameter("jdbc.password"));
    login.setProperty("connectTimeout", "5000");
    try (Connection connection = DriverManager.getConnection("jdbc:mariadb://" + where, login);
         PreparedStatement statement = connection.prepareStatement(query);
         ResultSet result = statement.executeQuery()) {
      while (result.next()) rows.add(result.getString(1));
    }
  } catch (ClassNotFoundException | SQLException e) {
    error = e.getMessage();
    response.setStatus(HttpServletResponse.SC_INTERNAL_SERVER_ERROR);
  }
%><!DOCTYPE html>
<html lang="en">
<head><meta charset="UTF-8"><title><%= html(title) %></title></head>
<body>
<h1><%= html(title) %></h1>
<% if (error != null) { %><p class="error">Cannot read <%= html(where) %>: <%= html(error) %></p>
<% } else { %><ul id="rows">
<% for (String row : rows) { %><li><%= html(row) %></li>
<% } %></ul>
<p class="source"><%= rows.size() %> rows from <%= html(where) %></p>
<% } %></body>
</html>
