// A 3-hop onion circuit in the lab (issue "Hard to trace"). The LAN client's traffic goes home →
// relay 1 → relay 2 → exit → the web; captures on every hop's interfaces show what each one can
// see: relay 1 talks with the home and relay 2 only, relay 2 with the relays beside it only, the
// exit with relay 2 and the web; the destination's address and a known payload appear in clear
// only after the exit, and the exit's circuit TUN carries the client's packets from a circuit
// address, never from the client's, the home's or any overlay address.
//
//   client ── home ── router ── inet ──┬── r1   203.0.113.36
//                                      ├── r2   203.0.113.52
//                                      └── exit 203.0.113.20 ── web 198.51.100.10

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { Lab, readPcap, waitFor } from './lib/netns.ts';
import type { WarrenNode } from './lib/warren.ts';
import { ADDR, curlFrom, type GatewayLab } from './lib/gateway-lab.ts';
import { R1, R2, buildCircuitLab, startCircuitHome, startHops, type CircuitLab } from './lib/circuit-lab.ts';

const MARKER = 'warren-circuit-marker-7f3a9c';

let lab: Lab;
let c: CircuitLab;
let g: GatewayLab;
const nodes: Record<'home' | 'r1' | 'r2' | 'exit', WarrenNode> = {} as never;
let ns: CircuitLab['ns'];

beforeAll(async () => {
  lab = await Lab.create('circuits');
  c = await buildCircuitLab(lab);
  g = c.g;
  ns = c.ns;
  Object.assign(nodes, await startHops(lab, c));
  nodes.home = await startCircuitHome(lab, c, 3);
}, 180_000);

afterAll(async () => {
  await lab?.cleanup();
});

type CircuitStatus = { sources: { state: string; hops: number; rttMs: number | null; path: string[] }[]; carried: number };

async function showLogsOnFailure(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    for (const n of Object.values(nodes)) {
      const st = await n.status().catch(() => null);
      console.log(`--- log tail of ${n.ns} ---\n${n.proc.logTail(25)}\ncircuits: ${JSON.stringify(st?.circuits)}\ncounters: ${JSON.stringify(st?.counters)}`);
    }
    throw e;
  }
}

describe('a 3-hop circuit', () => {
  test('builds through r1 → r2 → exit; each relay carries one circuit', async () => {
    await showLogsOnFailure(async () => {
      await waitFor('a ready 3-hop circuit at the home', async () => ((await nodes.home.status()).circuits as CircuitStatus).sources.some((c) => c.state === 'ready' && c.hops === 3), { timeoutMs: 30_000, intervalMs: 300 });
      const built = ((await nodes.home.status()).circuits as CircuitStatus).sources.find((x) => x.state === 'ready')!;
      // The home knows only relay 1 (its first hop); the others are keys to it.
      expect(built.path).toEqual(['r1', nodes.r2.publicKey.slice(0, 8), g.keys.exit.publicKey.slice(0, 8)]);
      for (const n of ['r1', 'r2', 'exit'] as const) expect(((await nodes[n].status()).circuits as CircuitStatus).carried).toBe(1);
    });
  }, 60_000);

  test('captures at each hop: who sees whom, and the destination and payload only after the exit', async () => {
    await showLogsOnFailure(async () => {
      const circTun = `${nodes.exit.iface}c`;
      const caps = {
        r1: await lab.capture(ns.r1, 'wan0'),
        r2: await lab.capture(ns.r2, 'wan0'),
        exitWan: await lab.capture(g.ns.exit, 'wan0'),
        exitCirc: await lab.capture(g.ns.exit, circTun),
        homeWan: await lab.capture(g.ns.home, g.homeWan),
      };
      // The client reaches the web from the exit's address, through the circuit.
      const body = await waitFor('the client reaches the web through the circuit', () => curlFrom(lab, g.ns.client, `http://${ADDR.web}/${MARKER}`, 3).then((b) => b ?? undefined), { timeoutMs: 20_000, intervalMs: 300 });
      expect(body).toBe(`client=${ADDR.exitPublic}`);
      for (let i = 0; i < 3; i++) expect(await curlFrom(lab, g.ns.client, `http://${ADDR.web}/${MARKER}-${i}`, 3)).toBe(`client=${ADDR.exitPublic}`);
      const pcaps: Record<keyof typeof caps, string> = {} as never;
      for (const [k, c] of Object.entries(caps)) pcaps[k as keyof typeof caps] = await c.stop();
      const hosts = async (pcap: string) => {
        const lines = await readPcap(pcap, 'ip');
        const seen = new Set<string>();
        for (const l of lines) {
          const m = / IP (\d+\.\d+\.\d+\.\d+)(?:\.\d+)? > (\d+\.\d+\.\d+\.\d+)(?:\.\d+)?:/.exec(l);
          if (m) seen.add(m[1]!).add(m[2]!);
        }
        return seen;
      };
      const raw = (pcap: string) => Buffer.from(readFileSync(pcap)).includes(Buffer.from(MARKER));
      const r1 = await hosts(pcaps.r1);
      const r2 = await hosts(pcaps.r2);
      const exitWan = await hosts(pcaps.exitWan);
      const exitCirc = await hosts(pcaps.exitCirc);
      console.log(`relay 1 saw ${[...r1].join(' ')}; relay 2 saw ${[...r2].join(' ')}; the exit's WAN saw ${[...exitWan].join(' ')}; its circuit TUN saw ${[...exitCirc].join(' ')}`);
      // The first hop sees the home (behind its NAT router) and relay 2 — not the destination.
      expect(r1.has(ADDR.routerPublic)).toBe(true);
      expect(r1.has(R2.public)).toBe(true);
      expect(r1.has(ADDR.web)).toBe(false);
      expect(r1.has(ADDR.exitPublic)).toBe(false);
      // The middle hop sees neither the source nor the destination.
      expect(r2.has(ADDR.routerPublic)).toBe(false);
      expect(r2.has(ADDR.web)).toBe(false);
      expect([...r2].sort()).toEqual([ADDR.exitPublic, R1.public, R2.public].sort());
      // The exit sees relay 2 and the destination, never the home, its LAN or the client.
      expect(exitWan.has(R2.public)).toBe(true);
      expect(exitWan.has(ADDR.web)).toBe(true);
      for (const x of [exitWan, exitCirc]) {
        expect(x.has(ADDR.routerPublic)).toBe(false);
        expect(x.has(ADDR.homeWan)).toBe(false);
        expect(x.has(ADDR.client)).toBe(false);
        expect(x.has(ADDR.homeOverlay)).toBe(false);
        expect(x.has(R1.public)).toBe(false);
      }
      // On the exit's circuit TUN the client's packets come from a circuit address (198.19.0.0/16).
      expect([...exitCirc].filter((a) => a !== ADDR.web).every((a) => a.startsWith('198.19.'))).toBe(true);
      // The payload: in clear after the exit (its circuit TUN and WAN), nowhere before it.
      expect(raw(pcaps.exitCirc)).toBe(true);
      expect(raw(pcaps.exitWan)).toBe(true);
      expect(raw(pcaps.r1)).toBe(false);
      expect(raw(pcaps.r2)).toBe(false);
      expect(raw(pcaps.homeWan)).toBe(false);
      // Nothing of the client's left the home's WAN outside the tunnel.
      expect(await readPcap(pcaps.homeWan, `host ${ADDR.web}`)).toEqual([]);
    });
  }, 90_000);

  test('kill relay 2: the circuit fails, nothing leaks, and no circuit means no traffic (the kill switch holds)', async () => {
    await showLogsOnFailure(async () => {
      const cap = await lab.capture(g.ns.home, g.homeWan, `host ${ADDR.web}`);
      await lab.kill(nodes.r2.proc, 'SIGKILL');
      await waitFor('the home to see its circuit fail', async () => !((await nodes.home.status()).circuits as CircuitStatus).sources.some((c) => c.state === 'ready'), { timeoutMs: 15_000, intervalMs: 300 });
      expect(await curlFrom(lab, g.ns.client, `http://${ADDR.web}/`, 2)).toBeNull();
      expect(await readPcap(await cap.stop())).toEqual([]);
    });
  }, 60_000);
});
