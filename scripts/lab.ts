// The lab: a virtual network of Warren appliances in network namespaces, up until Ctrl-C.
//
//   ns <lab>-a (Warren "a", tunnel 10.99.0.1) ──veth 192.168.77.0/24── ns <lab>-b (Warren "b", tunnel 10.99.0.2)
//
// Nothing here touches the root namespace's routes, rules or nftables; Ctrl-C (or SIGTERM)
// stops both daemons by PID and deletes the namespaces.

import { join } from 'node:path';
import { Lab, REPO_ROOT } from '../test/netns/lib/netns.ts';
import { startWarren } from '../test/netns/lib/warren.ts';
import { genKeyPair } from '../test/netns/lib/wireguard-go.ts';

const lab = await Lab.create('lab');
const nsA = await lab.ns('a');
const nsB = await lab.ns('b');
await lab.veth(nsA, nsB, { a: '192.168.77.1/24', b: '192.168.77.2/24' });
const [ka, kb] = [await genKeyPair(), await genKeyPair()];
// The native wire (the default between appliances): every byte random-looking to outsiders.
const networkSecret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
const wire = { wire: 'native', networkSecret };
const [a, b] = await Promise.all([
  startWarren(lab, nsA, {
    ...wire, name: 'a', privateKey: ka.privateKey, listenPort: 40001, addresses: ['10.99.0.1/24', 'fd99::1/64'],
    peers: [{ name: 'b', publicKey: kb.publicKey, endpoint: '192.168.77.2:40002', allowedIps: ['10.99.0.2/32', 'fd99::2/128'], persistentKeepalive: 25 }],
  }),
  startWarren(lab, nsB, {
    ...wire, name: 'b', privateKey: kb.privateKey, listenPort: 40002, addresses: ['10.99.0.2/24', 'fd99::2/64'],
    peers: [{ name: 'a', publicKey: ka.publicKey, endpoint: '192.168.77.1:40001', allowedIps: ['10.99.0.1/32', 'fd99::1/128'], persistentKeepalive: 25 }],
  }),
]);
const warren = join(REPO_ROOT, 'warren');
console.log(`
Warren lab is up: two appliances joined by an encrypted tunnel on the native wire
(nothing on the wire is fixed: no type bytes, no fixed sizes, every byte random-looking).

  appliance a: namespace ${nsA}, tunnel 10.99.0.1 / fd99::1, UDP 192.168.77.1:40001
  appliance b: namespace ${nsB}, tunnel 10.99.0.2 / fd99::2, UDP 192.168.77.2:40002

Try, in another terminal (as root):
  ip netns exec ${nsA} ping 10.99.0.2
  ip netns exec ${nsB} ping fd99::1
  ip netns exec ${nsA} ${warren} status --socket ${a.socketPath}
  ip netns exec ${nsB} ${warren} status --json --socket ${b.socketPath}
  ip netns exec ${nsA} tcpdump -ni any udp port 40001    # random-looking bytes only

Configs: ${a.configPath}, ${b.configPath}
Logs:    ${lab.artifactsDir}

Ctrl-C stops the daemons and removes the namespaces.`);

// Stay up; the Lab's SIGINT/SIGTERM handlers clean up and exit. A daemon that dies ends the lab.
const died = await Promise.race([a.proc.exited.then((c) => ['a', c] as const), b.proc.exited.then((c) => ['b', c] as const)]);
console.error(`appliance ${died[0]} exited with ${died[1]}; log tail:\n${(died[0] === 'a' ? a : b).proc.logTail()}`);
await lab.cleanup();
process.exit(1);
