// The services layer (the article's services.nix): three databases and three
// web applications, deployed into the containers the containers layer provides.
// Each web application is a function of the database it depends on: it reads
// the database's target and container properties (host, port, login) from the
// captured infrastructure and bakes them into its WEB-INF/web.xml.
//
//   dysnomia deploy -s services.mjs -i infrastructure-captured.json -d distribution.mjs --profile services
import { component } from '@dysnomia/engine';
import { buildDatabase, buildWebapp, connectionOf, DATABASES, sourcesDigest } from './index.mjs';

const database = (name) => ({
  name,
  type: 'mysql-database',
  pkg: component({ name, inputs: { name, sources: sourcesDigest('database') }, build: (out, { name }) => buildDatabase(out, name) }),
});

/** A web application reading the database `db` (its parameter in dependsOn). */
const webapp = (name, db) => ({
  name,
  type: 'tomcat-webapplication',
  pkg: (dependencies) =>
    component({
      name,
      inputs: { name, connection: connectionOf(dependencies[db]), sources: sourcesDigest('webapp') },
      build: (out, { name, connection }) => buildWebapp(out, name, connection),
    }),
});

export default () => {
  const services = Object.fromEntries(DATABASES.map((name) => [name, database(name)]));
  services.RoomService = { ...webapp('RoomService', 'rooms'), dependsOn: { rooms: services.rooms } };
  services.ZipcodeService = { ...webapp('ZipcodeService', 'zipcodes'), dependsOn: { zipcodes: services.zipcodes } };
  services.StaffTracker = { ...webapp('StaffTracker', 'staff'), dependsOn: { staff: services.staff } };
  return services;
};
