// The lab: two homes and an "internet" in network namespaces, with Warren appliances that meet
// through a DHT of the lab's own, up until Ctrl-C.
//
//   ns <lab>-a (home A, 10.77.1.2) ──── ns <lab>-inet (10.77.1.1 | 10.77.2.1: routes, 8 DHT nodes) ──── ns <lab>-b (home B, 10.77.2.2)
//
// Appliance A runs `warren init`, B `warren join` with A's invite, each approves the other; no
// config names the other appliance: they find each other on the DHT (encrypted, signed records)
// and talk on the native wire. Nothing here touches the root namespace's routes, rules or
// nftables; Ctrl-C (or SIGTERM) stops every process by PID and deletes the namespaces.

import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { Lab, REPO_ROOT, waitFor } from '../test/netns/lib/netns.ts';
import { startWarren } from '../test/netns/lib/warren.ts';
import { startLabDht } from '../test/netns/lib/dht-lab.ts';

const WARREN = join(REPO_ROOT, 'warren');
const LAB_RANGE = '10.77.0.0/16';

const lab = await Lab.create('lab');
const nsA = await lab.ns('a');
const nsB = await lab.ns('b');
const nsI = await lab.ns('inet');
await lab.veth(nsI, nsA, { a: '10.77.1.1/24', b: '10.77.1.2/24' });
await lab.veth(nsI, nsB, { a: '10.77.2.1/24', b: '10.77.2.2/24' });
await lab.exec(nsI, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
await lab.exec(nsA, ['ip', 'route', 'add', 'default', 'via', '10.77.1.1']);
await lab.exec(nsB, ['ip', 'route', 'add', 'default', 'via', '10.77.2.1']);
const { bootstrap } = await startLabDht(lab, nsI, { host: '10.77.1.1', labRanges: [LAB_RANGE] });

const cli = async (ns: string, args: string[], stdin?: string) => (await lab.exec(ns, [WARREN, ...args], { stdin })).stdout;
const dirA = join(lab.tmpDir, 'a');
const dirB = join(lab.tmpDir, 'b');
mkdirSync(dirA);
mkdirSync(dirB);
await cli(nsA, ['init', '--name', 'family', '--data', dirA]);
const invite = (await cli(nsA, ['invite', '--data', dirA])).match(/warren1:[a-z0-9]+/)?.[0] ?? '';
await cli(nsB, ['join', invite, '--data', dirB]);
const keyA = (await cli(nsA, ['pubkey'], readFileSync(join(dirA, 'private.key'), 'utf8'))).trim();
const keyB = (await cli(nsB, ['pubkey'], readFileSync(join(dirB, 'private.key'), 'utf8'))).trim();
await cli(nsA, ['approve', keyB, '--data', dirA]);
await cli(nsB, ['approve', keyA, '--data', dirB]);

const start = (name: string, ns: string, dir: string, port: number) =>
  startWarren(lab, ns, {
    name,
    wire: 'native',
    privateKeyPath: join(dir, 'private.key'),
    listenPort: port,
    addresses: [],
    sections: { network: { file: join(dir, 'network.toml') }, discovery: { bootstrap, lab_ranges: [LAB_RANGE], lookup_interval: 2 } },
    env: { WARREN_LAB: '1' },
  });
const [a, b] = await Promise.all([start('a', nsA, dirA, 40001), start('b', nsB, dirB, 40002)]);
interface PeerView {
  allowedIps: string[];
  handshakes: number;
}
const overlayOf = async (n: typeof a) => {
  const p = await waitFor(`${n.ns} to find its peer`, async () => ((await n.status()).peers as PeerView[]).find((x) => x.handshakes > 0), { timeoutMs: 30_000, intervalMs: 200 });
  return p.allowedIps[0]?.split('/')[0] ?? '?';
};
const [overlayB, overlayA] = [await overlayOf(a), await overlayOf(b)];
console.log(`
Warren lab is up: two homes, an "internet" with 8 DHT nodes, and two appliances that found each
other through the DHT (given only an invite) and talk on the native wire.

  home A: namespace ${nsA}, overlay ${overlayA}, UDP 10.77.1.2:40001, data ${dirA}
  home B: namespace ${nsB}, overlay ${overlayB}, UDP 10.77.2.2:40002, data ${dirB}
  invite: ${invite}

Try, in another terminal (as root):
  ip netns exec ${nsA} ping ${overlayB}
  ip netns exec ${nsB} ping ${overlayA}
  ip netns exec ${nsA} ${WARREN} status --socket ${a.socketPath}
  ip netns exec ${nsB} ${WARREN} status --json --socket ${b.socketPath}
  ip netns exec ${nsA} ${WARREN} members --data ${dirA}
  ip netns exec ${nsI} tcpdump -ni any udp port 40001    # random-looking bytes only

Logs: ${lab.artifactsDir}

Ctrl-C stops the appliances and the DHT and removes the namespaces.`);

// Stay up; the Lab's SIGINT/SIGTERM handlers clean up and exit. An appliance that dies ends the lab.
const died = await Promise.race([a.proc.exited.then((c) => ['a', c] as const), b.proc.exited.then((c) => ['b', c] as const)]);
console.error(`appliance ${died[0]} exited with ${died[1]}; log tail:\n${(died[0] === 'a' ? a : b).proc.logTail()}`);
await lab.cleanup();
process.exit(1);
