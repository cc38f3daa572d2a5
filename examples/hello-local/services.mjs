// The services model (-s), as Disnix's: a wrapper service, a long-running
// process that is activated after it (dependsOn), and a package that is only
// installed into the profile.
export default () => {
  const shelf = { name: 'shelf', pkg: './services/shelf', type: 'wrapper' };
  return {
    shelf,
    clock: { name: 'clock', pkg: './services/clock', type: 'process', dependsOn: { shelf } },
    hello: { name: 'hello', pkg: './pkgs/hello', type: 'package' },
  };
};
