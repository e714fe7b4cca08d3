// The lab: two homes and an "internet" in network namespaces, with Warren appliances that meet
// through a DHT of the lab's own, up until Ctrl-C.
//
//   ns <lab>-a (home A, 10.77.1.2) ──── ns <lab>-inet (10.77.1.1 | 10.77.2.1: routes, 8 DHT nodes) ──── ns <lab>-b (home B, 10.77.2.2)
//
// Appliance A runs `warren init`, B `warren join` with A's invite, each approves the other; no
// config names the other appliance: they find each other on the DHT (encrypted, signed records)
// and talk on the native wire. Nothing here touches the root namespace's routes, rules or
// nftables; Ctrl-C (or SIGTERM) stops every process by PID and deletes the namespaces.

import { Lab, waitFor } from '../test/netns/lib/netns.ts';
import { buildHomes, makeNetwork, startMember, WARREN } from '../test/netns/lib/homes.ts';

const lab = await Lab.create('lab');
const homes = await buildHomes(lab);
const { nsA, nsB, nsI } = homes;
const { dirA, dirB, invite } = await makeNetwork(lab, homes, 'family');
const start = (name: string, ns: string, dir: string, port: number) => startMember(lab, homes, name, ns, dir, port, 2);
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
