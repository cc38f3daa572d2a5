// Both MariaDB instances on test1, both Tomcat instances on test2 (the article's
// distribution-multicontainers.nix).
export default ({ infrastructure }) => ({
  'mysql-production': [infrastructure.test1],
  'mysql-test': [infrastructure.test1],
  'tomcat-production': [infrastructure.test2],
  'tomcat-test': [infrastructure.test2],
});
