// Which machines each service goes to: hello to both, motd to test1.
// The verbose form ({ targets: [{ target, container }] }) works too.
export default ({ infrastructure }) => ({
  hello: [infrastructure.test1, infrastructure.test2],
  motd: [infrastructure.test1],
});
