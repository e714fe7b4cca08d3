// Inbound ports through the exit (issue "Made for sharing"). The LAN client asks its appliance
// for ports with NAT-PMP — Debian's `natpmpc` (libnatpmp, what Transmission links), not our
// code — and a host on the internet reaches a server on the LAN client through the exit's
// address. A lease that is not renewed closes the port at both ends; a direct device gets none.
// Topology: lib/gateway-lab.ts (client 192.168.1.10 behind home, exit 203.0.113.20).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor, type LabProcess } from './lib/netns.ts';
import type { WarrenNode } from './lib/warren.ts';
import { ADDR, buildGatewayLab, curlFrom, startExit, startHome, type GatewayLab } from './lib/gateway-lab.ts';

const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');
/** The internet host that connects in: an address of the "internet", outside the exit's own subnets. */
const PEER = ADDR.web;

let lab: Lab;
let g: GatewayLab;
let home: WarrenNode;
let exit: WarrenNode;
let lanServer: LabProcess;
const lanDnsLog = () => join(lab.tmpDir, 'lan-dns.jsonl');

beforeAll(async () => {
  lab = await Lab.create('ports');
  g = await buildGatewayLab(lab);
  exit = await startExit(lab, g);
  home = await startHome(lab, g);
  // A web server and a UDP (DNS) server on the LAN client: what a torrent client's listening port stands for.
  lanServer = lab.spawn(g.ns.client, [BUN, join(REPO_ROOT, 'test/netns/lib/inet-services.ts'), '--web', `${ADDR.client}:8080`, '--dns', `${ADDR.client}:6881`, '--log', lanDnsLog()], { log: 'lan-server' });
  await waitFor('the LAN server', async () => lanServer.logTail(5).includes('ready'), { timeoutMs: 15_000, intervalMs: 100 });
  await waitFor('the client reaches the web through the exit', () => curlFrom(lab, g.ns.client, `http://${ADDR.web}/`).then((b) => b ?? undefined), { timeoutMs: 30_000, intervalMs: 250 });
}, 120_000);

afterAll(async () => {
  await lab?.cleanup();
});

async function natpmpc(ns: string, args: string[]): Promise<{ code: number; out: string; port: number | null; lifetime: number | null }> {
  const r = await lab.exec(ns, ['natpmpc', '-g', ADDR.homeLan, ...args], { check: false, timeoutMs: 30_000 });
  const out = r.stdout + r.stderr;
  const m = /Mapped public port (\d+) protocol (?:TCP|UDP) to local port \d+ (?:liftime|lifetime) (\d+)/.exec(out);
  return { code: r.code, out, port: m ? Number(m[1]) : null, lifetime: m ? Number(m[2]) : null };
}

/** From the internet host, to the exit's public address. */
const inbound = (port: number, timeoutS = 3) => curlFrom(lab, g.ns.inet, `http://${ADDR.exitPublic}:${port}/`, timeoutS, ['--interface', PEER]);

async function showLogsOnFailure(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    for (const n of [home, exit]) console.log(`--- log tail of ${n.ns} ---\n${n.proc.logTail(30)}`);
    throw e;
  }
}

describe('inbound ports', () => {
  test('NAT-PMP: the client learns the exit\'s address and gets a TCP port there; the internet reaches its server through it', async () => {
    await showLogsOnFailure(async () => {
      expect(await inbound(51413, 2)).toBeNull(); // nothing is open before the client asks
      const r = await natpmpc(g.ns.client, ['-a', '51413', '8080', 'tcp', '3600']);
      console.log(r.out.trim().split('\n').filter((l) => /Public IP|Mapped/.test(l)).join('\n'));
      expect(r.out).toContain(`Public IP address : ${ADDR.exitPublic}`);
      expect(r.port).toBe(51413); // the port asked for, when free
      expect(r.lifetime).toBe(3600);
      // The internet host reaches the client's server; the server sees the internet host's own address.
      expect(await inbound(51413)).toBe(`client=${PEER}`);
      const s = (await home.status()).ports as { home: { client: string; proto: string; internal: number; external: number }[] };
      expect(s.home).toEqual([expect.objectContaining({ client: ADDR.client, proto: 'tcp', internal: 8080, external: 51413 })]);
      const e = (await exit.status()).ports as { exit: { proto: string; external: number; memberAddr: string }[] };
      expect(e.exit).toEqual([expect.objectContaining({ proto: 'tcp', external: 51413, memberAddr: ADDR.homeOverlay })]);
      // The client's own connections still leave from the exit.
      expect(await curlFrom(lab, g.ns.client, `http://${ADDR.web}/`)).toBe(`client=${ADDR.exitPublic}`);
    });
  }, 60_000);

  test('a UDP port: a datagram from the internet reaches the client\'s UDP server and its answer comes back', async () => {
    const r = await natpmpc(g.ns.client, ['-a', '6881', '6881', 'udp', '3600']);
    expect(r.port).toBe(6881);
    const dig = await lab.exec(g.ns.inet, ['dig', '+short', '+time=2', '+tries=2', '-b', PEER, '-p', String(r.port), `@${ADDR.exitPublic}`, 'inbound-udp.test'], { check: false });
    expect(dig.stdout.trim()).toBe(ADDR.web); // inet-services answers every name with the web address
    const asked = readFileSync(lanDnsLog(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { from: string; name: string });
    expect(asked.filter((q) => q.name === 'inbound-udp.test').map((q) => q.from)).toContain(PEER);
  }, 60_000);

  test('lifetime 0 closes a port at once; a lease that is not renewed closes at the appliance and at the exit', async () => {
    await showLogsOnFailure(async () => {
      // Deleting the mapping (lifetime 0) closes it now; the UDP one stays.
      const del = await natpmpc(g.ns.client, ['-a', '0', '8080', 'tcp', '0']);
      expect(del.code).toBe(0);
      await waitFor('port 51413 to close', async () => (await inbound(51413, 1)) === null, { timeoutMs: 10_000, intervalMs: 300 });
      const after = (await exit.status()).ports as { exit: { proto: string; external: number }[] };
      expect(after.exit.map((l) => `${l.proto}/${l.external}`)).toEqual(['udp/6881']);
      // A 3 s lease, never renewed.
      const short = await natpmpc(g.ns.client, ['-a', '52000', '8080', 'tcp', '3']);
      expect(short.port).toBe(52000);
      expect(await inbound(52000)).toBe(`client=${PEER}`);
      const t0 = performance.now();
      await waitFor('the short lease to end', async () => (await inbound(52000, 1)) === null, { timeoutMs: 15_000, intervalMs: 500 });
      console.log(`a 3 s lease not renewed: the port closed after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const e = (await exit.status()).ports as { exit: { external: number }[] };
      expect(e.exit.map((l) => l.external)).not.toContain(52000);
      expect(((await home.status()).ports as { home: { external: number }[] }).home.map((m) => m.external)).not.toContain(52000);
    });
  }, 60_000);

  test('a direct device gets no port (NAT-PMP refuses), and nothing reaches it from the exit', async () => {
    const r = await natpmpc(g.ns.tv, ['-a', '53000', '8080', 'tcp', '3600']);
    expect(r.port).toBeNull();
    expect(r.code).not.toBe(0);
    const e = (await exit.status()).ports as { exit: { external: number }[] };
    expect(e.exit.map((l) => l.external)).not.toContain(53000);
  }, 60_000);

  test('after the exit restarts (its ports gone), the client\'s next renewal opens the same port again', async () => {
    await showLogsOnFailure(async () => {
      const first = await natpmpc(g.ns.client, ['-a', '51413', '8080', 'tcp', '3600']);
      expect(await inbound(first.port!)).toBe(`client=${PEER}`);
      await lab.kill(exit.proc);
      exit = await startExit(lab, g, exit.iface);
      await waitFor('the client reaches the web through the exit again', () => curlFrom(lab, g.ns.client, `http://${ADDR.web}/`, 2).then((b) => b ?? undefined), { timeoutMs: 30_000, intervalMs: 250 });
      // The restarted exit holds nothing; the client's renewal (as a torrent client does every
      // half lifetime) opens the same port again.
      const renewed = await natpmpc(g.ns.client, ['-a', '51413', '8080', 'tcp', '3600']);
      expect(renewed.port).toBe(first.port);
      expect(await inbound(renewed.port!)).toBe(`client=${PEER}`);
    });
  }, 90_000);
});
