// Two homes and an "internet" that routes between them and runs a DHT of the lab's own, and
// the steps a household takes to make a network (init, invite, join, approve), shared by the
// lab (scripts/lab.ts), the discovery test and the discovery benchmark.
//
//   ns a (10.77.1.2) ──veth── ns inet (10.77.1.1 | 10.77.2.1, forwarding, lab DHT) ──veth── ns b (10.77.2.2)

import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { type Lab, REPO_ROOT, type LabProcess } from './netns.ts';
import { startWarren, type WarrenNode } from './warren.ts';
import { startLabDht } from './dht-lab.ts';

export const WARREN = join(REPO_ROOT, 'warren');
export const LAB_RANGE = '10.77.0.0/16';

export interface Homes {
  nsA: string;
  nsB: string;
  nsI: string;
  /** The internet's side of the link to home A (capture there to see A's traffic). */
  vethIA: string;
  bootstrap: string[];
  dht: LabProcess;
}

export async function buildHomes(lab: Lab, dhtNodes = 8): Promise<Homes> {
  const nsA = await lab.ns('a');
  const nsB = await lab.ns('b');
  const nsI = await lab.ns('inet');
  const vethIA = (await lab.veth(nsI, nsA, { a: '10.77.1.1/24', b: '10.77.1.2/24' })).a;
  await lab.veth(nsI, nsB, { a: '10.77.2.1/24', b: '10.77.2.2/24' });
  await lab.exec(nsI, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await lab.exec(nsA, ['ip', 'route', 'add', 'default', 'via', '10.77.1.1']);
  await lab.exec(nsB, ['ip', 'route', 'add', 'default', 'via', '10.77.2.1']);
  const { bootstrap, proc } = await startLabDht(lab, nsI, { host: '10.77.1.1', nodes: dhtNodes, labRanges: [LAB_RANGE] });
  return { nsA, nsB, nsI, vethIA, bootstrap, dht: proc };
}

export interface Household {
  /** When `warren join` ran (Date.now()). */
  joinedAt: number;
  dirA: string;
  dirB: string;
  invite: string;
  keyA: string;
  keyB: string;
}

/** `warren init` in A, `warren join INVITE` in B, and each approves the other (both require approval) unless `approveEachOther` is false. */
export async function makeNetwork(lab: Lab, homes: Homes, name: string, tag = '', approveEachOther = true): Promise<Household> {
  const cli = async (ns: string, args: string[], stdin?: string) => (await lab.exec(ns, [WARREN, ...args], { stdin })).stdout;
  const dirA = join(lab.tmpDir, `a${tag}`);
  const dirB = join(lab.tmpDir, `b${tag}`);
  mkdirSync(dirA);
  mkdirSync(dirB);
  await cli(homes.nsA, ['init', '--name', name, '--data', dirA]);
  const invite = (await cli(homes.nsA, ['invite', '--data', dirA])).match(/warren1:[a-z0-9]+/)?.[0];
  if (!invite) throw new Error('warren invite printed no invite');
  const joinedAt = Date.now();
  await cli(homes.nsB, ['join', invite, '--data', dirB]);
  const keyA = (await cli(homes.nsA, ['pubkey'], readFileSync(join(dirA, 'private.key'), 'utf8'))).trim();
  const keyB = (await cli(homes.nsB, ['pubkey'], readFileSync(join(dirB, 'private.key'), 'utf8'))).trim();
  if (approveEachOther) {
    await cli(homes.nsA, ['approve', keyB, '--data', dirA]);
    await cli(homes.nsB, ['approve', keyA, '--data', dirB]);
  }
  return { dirA, dirB, invite, keyA, keyB, joinedAt };
}

/** Starts a member whose config names no peer: it finds the others on the lab DHT. */
export function startMember(lab: Lab, homes: Homes, name: string, ns: string, dir: string, port: number, lookupInterval = 1): Promise<WarrenNode> {
  return startWarren(lab, ns, {
    name,
    wire: 'native',
    privateKeyPath: join(dir, 'private.key'),
    listenPort: port,
    addresses: [], // the overlay addresses derived from the key in the network
    sections: {
      network: { file: join(dir, 'network.toml') },
      discovery: { bootstrap: homes.bootstrap, lab_ranges: [LAB_RANGE], lookup_interval: lookupInterval },
    },
    env: { WARREN_LAB: '1' },
  });
}
