// The machines, as in the article: test1 and test2. Each is reached over SSH
// with your key (or ssh-agent); its host key must be in ~/.ssh/known_hosts
// (or pass --accept-new-host-keys once, after checking the fingerprint).
export default {
  test1: {
    properties: { hostname: 'test1' },
  },
  test2: {
    properties: { hostname: 'test2', sshUser: 'deploy' },
    system: 'x86_64-linux',
  },
};
