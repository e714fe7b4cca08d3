// Exit failover: the home uses `exit = "auto"` with two exits. The exit in use is SIGKILLed
// during a LAN client's download; the client's next connection works through the other exit
// within 5 s (peer quality: the exit is probed every second, session/quality.ts), and nothing
// of the client's leaves the home's WAN outside the tunnel meanwhile.
//
//   client ── home ── router ── inet ── exit  203.0.113.20
//                                   └── exit2 203.0.113.36

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Lab, REPO_ROOT, readPcap, waitFor } from './lib/netns.ts';
import { ADDR, EXIT_PORT, buildGatewayLab, curlFrom, labNetworkFile, startExit, startHome, type GatewayLab } from './lib/gateway-lab.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
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
    gateway: { exit: 'auto' },
    peers: [
      { name: 'exit', publicKey: g.keys.exit.publicKey, endpoint: `${ADDR.exitPublic}:${EXIT_PORT}`, allowedIps: [`${ADDR.exitOverlay}/32`, '0.0.0.0/0'], persistentKeepalive: 25 },
      { name: 'exit2', publicKey: p2, endpoint: `${EXIT2_PUBLIC}:${EXIT2_PORT}`, allowedIps: [`${EXIT2_OVERLAY}/32`, '0.0.0.0/0'], persistentKeepalive: 25 },
    ],
  });
}, 120_000);

afterAll(async () => {
  await lab?.cleanup();
});

test('the exit in use is SIGKILLed during a download: the next connection goes through the other exit within 5 s, nothing leaks', async () => {
  // Both exits have sessions and measured round trips before the test starts.
  await waitFor('sessions and round trips with both exits', async () => {
    const peers = (await home.status()).peers as { name: string; rttMs: number | null }[];
    return peers.length === 2 && peers.every((p) => p.rttMs !== null);
  }, { timeoutMs: 30_000, intervalMs: 500 });
  let seen: string | null = null;
  await waitFor('the client reaches the web through an exit', async () => (seen = await curlFrom(lab, g.ns.client, `http://${ADDR.web}/`, 2)) !== null, { timeoutMs: 20_000, intervalMs: 300 });
  const used = seen!.replace('client=', '');
  const other = used === ADDR.exitPublic ? EXIT2_PUBLIC : ADDR.exitPublic;
  expect(exits[used]).toBeDefined();

  const cap = await lab.capture(g.ns.home, g.homeWan, `host ${ADDR.web}`);
  const download = lab.spawn(g.ns.client, ['curl', '-sS', '-o', '/dev/null', '--max-time', '30', `http://${ADDR.web}/download?seconds=20`], { log: 'download' });
  await Bun.sleep(2000);
  expect(download.exitCode()).toBeNull(); // still downloading
  await lab.kill(exits[used]!.proc, 'SIGKILL');
  const killedAt = performance.now();
  let through: string | null = null;
  let tries = 0;
  while (performance.now() - killedAt < 15_000) {
    tries++;
    through = await curlFrom(lab, g.ns.client, `http://${ADDR.web}/`, 1);
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
