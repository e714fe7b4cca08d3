// Two exits. Per-device exits: the client is set to exit2 while the appliance's exit is exit1,
// and each device's connections leave from its own exit (dataplane/exit-ports.ts). Failover: with
// `exit = "auto"`, the exit in use is SIGKILLed during the TV's download; the TV's next
// connection works through the other exit within 5 s (peer quality: the exit is probed every
// second, session/quality.ts), and nothing of it leaves the home's WAN outside the tunnel.
//
//   client (→ exit2), tv ── home ── router ── inet ── exit  203.0.113.20
//                                                 └── exit2 203.0.113.36

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Lab, REPO_ROOT, readPcap, waitFor } from './lib/netns.ts';
import { ADDR, EXIT_PORT, MAC, buildGatewayLab, curlFrom, labNetworkFile, startExit, startHome, type GatewayLab } from './lib/gateway-lab.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const EXIT2_PUBLIC = '203.0.113.36';
const EXIT2_OVERLAY = '100.80.0.3';
const EXIT2_PORT = 41003;

let lab: Lab;
let g: GatewayLab;
let home: WarrenNode;
const exits: Record<string, WarrenNode> = {};

beforeAll(async () => {
  lab = await Lab.create('failover');
  g = await buildGatewayLab(lab);
  const exit2 = await lab.ns('exit2');
  await lab.veth(exit2, g.ns.inet, { a: `${EXIT2_PUBLIC}/28`, b: '203.0.113.33/28', nameA: 'wan0', nameB: 'to-exit2' });
  await lab.exec(exit2, ['ip', 'route', 'add', 'default', 'via', '203.0.113.33']);
  const warren = join(REPO_ROOT, 'warren');
  const k2 = (await lab.exec(exit2, [warren, 'genkey'])).stdout.trim();
  const p2 = (await lab.exec(exit2, [warren, 'pubkey'], { stdin: k2 })).stdout.trim();
  exits[ADDR.exitPublic] = await startExit(lab, g);
  exits[EXIT2_PUBLIC] = await startWarren(lab, exit2, {
    name: 'exit2', privateKey: k2, listenPort: EXIT2_PORT, addresses: [`${EXIT2_OVERLAY}/10`], wire: 'native',
    peers: [{ name: 'home', publicKey: g.keys.home.publicKey, allowedIps: [`${ADDR.homeOverlay}/32`] }],
    sections: { network: { file: labNetworkFile(lab, g, 'exit2') }, exit: { enabled: true, accept_risk: true, wan: 'wan0' } },
  });
  home = await startHome(lab, g, {
    gateway: {
      exit: 'auto',
      device: [{ name: 'client', ip: ADDR.client, policy: 'overlay', exit: p2 }, { name: 'tv', mac: MAC.tv, policy: 'overlay' }],
    },
    peers: [
      { name: 'exit', publicKey: g.keys.exit.publicKey, endpoint: `${ADDR.exitPublic}:${EXIT_PORT}`, allowedIps: [`${ADDR.exitOverlay}/32`, '0.0.0.0/0'], persistentKeepalive: 25 },
      { name: 'exit2', publicKey: p2, endpoint: `${EXIT2_PUBLIC}:${EXIT2_PORT}`, allowedIps: [`${EXIT2_OVERLAY}/32`, '0.0.0.0/0'], persistentKeepalive: 25 },
    ],
  });
}, 120_000);

afterAll(async () => {
  await lab?.cleanup();
});

const warrenExit = (choice: string) => lab.exec(g.ns.home, [join(REPO_ROOT, 'warren'), 'exit', choice, '--socket', home.socketPath]);

test('a device set to its own exit leaves from it; the others from the appliance\'s exit', async () => {
  await waitFor('sessions and round trips with both exits', async () => {
    const peers = (await home.status()).peers as { name: string; rttMs: number | null }[];
    return peers.length === 2 && peers.every((p) => p.rttMs !== null);
  }, { timeoutMs: 30_000, intervalMs: 500 });
  await warrenExit(g.keys.exit.publicKey);
  await waitFor('the TV leaves from exit 1', async () => (await curlFrom(lab, g.ns.tv, `http://${ADDR.web}/`, 2)) === `client=${ADDR.exitPublic}`, { timeoutMs: 20_000, intervalMs: 300 });
  const seen = { client: new Set<string | null>(), tv: new Set<string | null>() };
  for (let i = 0; i < 5; i++) {
    seen.client.add(await curlFrom(lab, g.ns.client, `http://${ADDR.web}/`, 3));
    seen.tv.add(await curlFrom(lab, g.ns.tv, `http://${ADDR.web}/`, 3));
  }
  console.log(`client left from ${[...seen.client].join(', ')}; tv from ${[...seen.tv].join(', ')}`);
  expect([...seen.client]).toEqual([`client=${EXIT2_PUBLIC}`]);
  expect([...seen.tv]).toEqual([`client=${ADDR.exitPublic}`]);
  // UDP too: a DNS server on port 5353 (not redirected as 53 is) logs where queries came from.
  for (const [ns, name] of [[g.ns.client, 'client.udp.test'], [g.ns.tv, 'tv.udp.test']] as const) {
    expect((await lab.exec(ns, ['dig', '+short', '+time=3', '+tries=2', '-p', '5353', `@${ADDR.dns}`, name], { check: false })).stdout.trim()).toBe(ADDR.web);
  }
  const asked = readFileSync(g.dnsLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { from: string; name: string });
  expect([...new Set(asked.filter((q) => q.name === 'client.udp.test').map((q) => q.from))]).toEqual([EXIT2_PUBLIC]);
  expect([...new Set(asked.filter((q) => q.name === 'tv.udp.test').map((q) => q.from))]).toEqual([ADDR.exitPublic]);
  await warrenExit('best');
}, 90_000);

test('the exit in use is SIGKILLed during a download: the next connection goes through the other exit within 5 s, nothing leaks', async () => {
  let seen: string | null = null;
  await waitFor('the TV reaches the web through an exit', async () => (seen = await curlFrom(lab, g.ns.tv, `http://${ADDR.web}/`, 2)) !== null, { timeoutMs: 20_000, intervalMs: 300 });
  const used = seen!.replace('client=', '');
  const other = used === ADDR.exitPublic ? EXIT2_PUBLIC : ADDR.exitPublic;
  expect(exits[used]).toBeDefined();

  const cap = await lab.capture(g.ns.home, g.homeWan, `host ${ADDR.web}`);
  const download = lab.spawn(g.ns.tv, ['curl', '-sS', '-o', '/dev/null', '--max-time', '30', `http://${ADDR.web}/download?seconds=20`], { log: 'download' });
  await Bun.sleep(2000);
  expect(download.exitCode()).toBeNull(); // still downloading
  await lab.kill(exits[used]!.proc, 'SIGKILL');
  const killedAt = performance.now();
  let through: string | null = null;
  let tries = 0;
  while (performance.now() - killedAt < 15_000) {
    tries++;
    through = await curlFrom(lab, g.ns.tv, `http://${ADDR.web}/`, 1);
    if (through !== null) break;
    await Bun.sleep(100);
  }
  const tookMs = performance.now() - killedAt;
  console.log(`exit ${used} killed; the next connection went through ${through} after ${(tookMs / 1000).toFixed(1)} s (${tries} tries)`);
  expect(through).toBe(`client=${other}`);
  expect(tookMs).toBeLessThanOrEqual(5000);
  await lab.kill(download, 'SIGKILL');
  // Nothing of the client's reached the web server's address on the home WAN in the clear.
  expect(await readPcap(await cap.stop(), '')).toEqual([]);
  const status = (await home.status()).gateway as { exit: { publicKey: string } | null };
  expect(status.exit?.publicKey).toBe(exits[other]!.publicKey);
}, 90_000);
