// Layer 3: pages, deployed into the container "pages" that layer 2's page host provides,
// by the third-party plugin dysnomia-plugin-page (npm install in this folder).
// PAGEHOST_EXTRA_PAGE names one more page folder (the tests use it).
export default () => ({
  hello: { name: 'hello', pkg: './pages/hello', type: 'page' },
  about: { name: 'about', pkg: './pages/about', type: 'page' },
  ...(process.env.PAGEHOST_EXTRA_PAGE ? { extra: { name: 'extra', pkg: process.env.PAGEHOST_EXTRA_PAGE, type: 'page' } } : {}),
});
