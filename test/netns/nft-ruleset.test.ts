// Every variant of Warren's ruleset loads into a real kernel (in a lab namespace), replaces the
// previous one in one transaction, and is removed cleanly.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Lab } from './lib/netns.ts';
import { buildRuleset, TABLE, type Ruleset } from '../../appliance/system/nft.ts';
import { parsePrefix, type Prefix } from '../../appliance/dataplane/packet/addr.ts';

let lab: Lab;
let ns: string;
const p = (s: string): Prefix => parsePrefix(s)!;
const gateway = {
  tun: 'warren0', self: [p('100.80.0.1/10'), p('fd10::1/48')], lan: 'br-lan', wan: 'eth0', mark: 0x5741, redirectDns: true,
  devices: [
    { name: 'tv', mac: '02:00:00:00:00:20', ip: null, policy: 'direct' as const, exit: null },
    { name: 'pc', mac: null, ip: '192.168.1.40', policy: 'overlay' as const, exit: null },
    { name: 'kid', mac: null, ip: '192.168.1.30', policy: 'block' as const, exit: null },
    { name: 'phone', mac: '02:00:00:00:00:50', ip: null, policy: 'overlay' as const, exit: 'A'.repeat(43) + '=' },
    { name: 'laptop', mac: null, ip: '192.168.1.60', policy: 'overlay' as const, exit: 'B'.repeat(43) + '=' },
  ],
};
const exit = { tun: 'warren0', wan: 'eth0', self: [p('100.80.0.1/10')], deny: [p('10.0.0.0/8'), p('10.1.0.0/16'), p('fe80::/10'), p('fe80::/64')], blockSmtp: true, rateMbit: 40 };

beforeAll(async () => {
  lab = await Lab.create('nft');
  ns = await lab.ns('fw');
});
afterAll(async () => {
  await lab?.cleanup();
});

const variants: [string, Ruleset][] = [
  ['gateway, default overlay', { gateway: { ...gateway, defaultPolicy: 'overlay' }, exit: null }],
  ['gateway, default block, no DNS', { gateway: { ...gateway, defaultPolicy: 'block', redirectDns: false }, exit: null }],
  ['gateway and exit with a rate cap', { gateway: { ...gateway, defaultPolicy: 'direct' }, exit }],
  ['gateway and exit sharing their LANs', { gateway: { ...gateway, defaultPolicy: 'overlay' }, exit, sites: { tun: 'warren0', networks: [p('192.168.1.0/24'), p('192.168.1.0/25'), p('fd00:1::/64')] } }],
  ['exit alone', { gateway: null, exit: { ...exit, rateMbit: 0, blockSmtp: false } }],
  ['gateway and exit with circuits', { gateway: { ...gateway, defaultPolicy: 'overlay', circuitTun: 'warren0c', hops: 3 }, exit: { ...exit, circuitTun: 'warren0c' } }],
  ['gateway and exit with inbound ports and fair sharing', {
    gateway: { ...gateway, defaultPolicy: 'overlay' },
    exit: { ...exit, memberRateMbit: 25, memberConnections: 4096, shaped: true },
    forwards: {
      exit: [{ proto: 'tcp', port: 51413, to: '100.80.0.7', toPort: 4000 }, { proto: 'udp', port: 51413, to: '100.80.0.7', toPort: 4000 }, { proto: 'tcp', port: 60000, to: '100.80.0.9', toPort: 48123 }],
      home: [{ proto: 'tcp', port: 4000, to: '192.168.1.40', toPort: 51413 }, { proto: 'udp', port: 4000, to: '192.168.1.40', toPort: 51413 }],
    },
  }],
  ['kept kill switch', { gateway: { ...gateway, defaultPolicy: 'overlay' }, exit, killSwitchOnly: true }],
];

describe('the ruleset in a kernel', () => {
  test.each(variants)('%s loads, replacing what was there', async (_name, r) => {
    const text = `table inet ${TABLE}\ndelete table inet ${TABLE}\n${buildRuleset(r)}`;
    await lab.exec(ns, ['nft', '-f', '-'], { stdin: text });
    const listed = (await lab.exec(ns, ['nft', 'list', 'table', 'inet', TABLE])).stdout;
    const chains = [...listed.matchAll(/chain (\w+) \{/g)].map((m) => m[1]);
    const wanted = [...buildRuleset(r).matchAll(/chain (\w+) \{/g)].map((m) => m[1]);
    expect(chains).toEqual(wanted);
    expect((await lab.exec(ns, ['nft', 'list', 'tables'])).stdout.trim().split('\n')).toEqual([`table inet ${TABLE}`]);
  });

  test('removal leaves no table', async () => {
    await lab.exec(ns, ['nft', 'delete', 'table', 'inet', TABLE]);
    expect((await lab.exec(ns, ['nft', 'list', 'tables'])).stdout.trim()).toBe('');
  });
});
