// Layer 2: the page host, a web application in layer 1's Tomcat that is itself a
// container: it serves the pages in its folder, and provides the container "pages"
// (type page) for layer 3.
import { component } from '@dysnomia/engine';
import { buildPageHost, settings, sourcesDigest } from './index.mjs';

export default () => {
  const { title, pagesDir, httpPort } = settings();
  return {
    pagehost: {
      name: 'pagehost',
      type: 'tomcat-webapplication',
      pkg: component({ name: 'pagehost', inputs: { title, pagesDir, sources: sourcesDigest(['index.mjs']) }, build: (out, { title, pagesDir }) => buildPageHost(out, { title, pagesDir }) }),
      providesContainers: { pages: { type: 'page', pagesDir, url: `http://127.0.0.1:${httpPort}/pagehost/` } },
    },
  };
};
