// The containers layer (the article's services-multicontainers.nix): two
// MariaDB and two Tomcat instances as wrapper services. Each builds a component
// holding bin/wrapper (starts and stops the instance) and
// etc/dysnomia/containers/<name> (the container it provides once installed in
// the profile). Ports, sockets and folders: see README.md (STAFFTRACKER_* variables).
//
//   dysnomia deploy -s services-containers.mjs -i infrastructure-bootstrap.json \
//     -d distribution-containers.mjs --profile containers
import { component } from '@dysnomia/engine';
import { buildMysqlContainer, buildTomcatContainer, mysqlServerParams, sourcesDigest, tomcatServerParams } from './index.mjs';

/** The target a service is distributed to (its first); undefined when it is not distributed. */
const targetOf = (distribution, service) => distribution[service]?.targets[0]?.target;

export default ({ distribution }) => {
  const mysql = (name) => ({
    name,
    type: 'wrapper',
    pkg: component({
      name,
      inputs: { params: mysqlServerParams(name, targetOf(distribution, name)), sources: sourcesDigest('mysql') },
      build: (out, { params }) => buildMysqlContainer(out, params),
    }),
  });
  const tomcat = (name) => ({
    name,
    type: 'wrapper',
    pkg: component({
      name,
      inputs: { params: tomcatServerParams(name, targetOf(distribution, name)), sources: sourcesDigest('tomcat') },
      build: (out, { params }) => buildTomcatContainer(out, params),
    }),
  });
  return {
    'mysql-production': mysql('mysql-production'),
    'mysql-test': mysql('mysql-test'),
    'tomcat-production': tomcat('tomcat-production'),
    'tomcat-test': tomcat('tomcat-test'),
  };
};
