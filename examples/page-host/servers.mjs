// Layer 1: the Tomcat server, a wrapper service whose component provides the
// container "tomcat-pages" (type tomcat-webapplication). Settings: PAGEHOST_* (README.md).
import { component } from '@dysnomia/engine';
import { buildTomcatServer } from '../tomcat-server/index.mjs';
import { settings, sourcesDigest } from './index.mjs';

export default () => {
  const { httpPort, shutdownPort, catalinaBase, javaOpts } = settings();
  const params = { name: 'tomcat-pages', httpPort, shutdownPort, catalinaBase, ...(javaOpts ? { javaOpts } : {}) };
  return {
    tomcat: {
      name: 'tomcat',
      type: 'wrapper',
      pkg: component({ name: 'tomcat-pages', inputs: { params, sources: sourcesDigest(['../tomcat-server/index.mjs']) }, build: (out, { params }) => buildTomcatServer(out, params) }),
      providesContainers: { 'tomcat-pages': { type: 'tomcat-webapplication', catalinaBaseDir: catalinaBase, tomcatPort: String(httpPort) } },
    },
  };
};
