// A failing hop is replaced (issue "Hard to trace"): the home draws its 2-hop circuits among two
// relays; the relay in use is SIGKILLed, and the LAN client's next connection works through the
// other relay within 5 s, with nothing of the client's on the home's WAN meanwhile.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Lab, readPcap, waitFor } from './lib/netns.ts';
import type { WarrenNode } from './lib/warren.ts';
import { ADDR, curlFrom } from './lib/gateway-lab.ts';
import { buildCircuitLab, startDrawingHome, startHops, type CircuitLab } from './lib/circuit-lab.ts';

let lab: Lab;
let c: CircuitLab;
let hops: { r1: WarrenNode; r2: WarrenNode; exit: WarrenNode };
let home: WarrenNode;

beforeAll(async () => {
  lab = await Lab.create('circfail');
  c = await buildCircuitLab(lab);
  hops = await startHops(lab, c, { r1ToExit: true, r2KnowsHome: true });
  home = await startDrawingHome(lab, c);
}, 180_000);

afterAll(async () => {
  await lab?.cleanup();
});

type Sources = { sources: { state: string; path: string[]; current: boolean }[] };

test('the first hop of the circuit in use is SIGKILLed: the next connection works through the other relay within 5 s, nothing leaks', async () => {
  try {
    await waitFor('a ready 2-hop circuit', async () => ((await home.status()).circuits as Sources).sources.some((s) => s.state === 'ready'), { timeoutMs: 30_000, intervalMs: 300 });
    expect(await waitFor('the client through the circuit', () => curlFrom(lab, c.g.ns.client, `http://${ADDR.web}/`, 2).then((b) => b ?? undefined), { timeoutMs: 20_000, intervalMs: 300 })).toBe(`client=${ADDR.exitPublic}`);
    const used = ((await home.status()).circuits as Sources).sources.find((s) => s.state === 'ready' && s.current)!.path[0]!;
    expect(['r1', 'r2']).toContain(used);
    const other = used === 'r1' ? 'r2' : 'r1';
    const cap = await lab.capture(c.g.ns.home, c.g.homeWan, `host ${ADDR.web}`);
    await lab.kill(hops[used as 'r1' | 'r2'].proc, 'SIGKILL');
    const killedAt = performance.now();
    let body: string | null = null;
    while (performance.now() - killedAt < 15_000) {
      body = await curlFrom(lab, c.g.ns.client, `http://${ADDR.web}/`, 1);
      if (body !== null) break;
      await Bun.sleep(100);
    }
    const tookMs = performance.now() - killedAt;
    const now = ((await home.status()).circuits as Sources).sources.find((s) => s.state === 'ready' && s.current);
    console.log(`relay ${used} killed; the next connection went through ${now?.path.join(' → ')} after ${(tookMs / 1000).toFixed(1)} s`);
    expect(body).toBe(`client=${ADDR.exitPublic}`);
    expect(now?.path[0]).toBe(other);
    expect(tookMs).toBeLessThanOrEqual(5000);
    expect(await readPcap(await cap.stop())).toEqual([]);
  } catch (e) {
    console.log(`--- home log ---\n${home.proc.logTail(30)}`);
    throw e;
  }
}, 90_000);
