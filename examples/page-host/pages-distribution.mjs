// Every page into the container "pages" on test1 (the page host's); "extra" only when
// PAGEHOST_EXTRA_PAGE adds it to the services (the tests use it).
const pages = ['hello', 'about', ...(process.env.PAGEHOST_EXTRA_PAGE ? ['extra'] : [])];
export default () => Object.fromEntries(pages.map((page) => [page, { targets: [{ target: 'test1', container: 'pages' }] }]));
