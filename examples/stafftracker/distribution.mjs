// Where each service goes, naming the container (the article's
// distribution-advanced.nix, verbose form): databases into the two MariaDB
// instances on test1, web applications into the two Tomcat instances on test2.
const on = (target, container) => ({ targets: [{ target, container }] });

export default ({ infrastructure: { test1, test2 } }) => ({
  rooms: on(test1, 'mysql-production'),
  zipcodes: on(test1, 'mysql-production'),
  staff: on(test1, 'mysql-test'),
  RoomService: on(test2, 'tomcat-production'),
  StaffTracker: on(test2, 'tomcat-production'),
  ZipcodeService: on(test2, 'tomcat-test'),
});
