// The gateway: every LAN device's traffic leaves through the exit, nothing leaks to the home's
// WAN — not while Warren restarts or crashes, not without an exit — DNS goes through the exit,
// IPv6 stays in, the exit protects its own networks, and per-device policy holds.
// (Issue "Protect every device in the house".) Topology: lib/gateway-lab.ts.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Lab, waitFor } from './lib/netns.ts';
import type { WarrenNode } from './lib/warren.ts';
import { ADDR, buildGatewayLab, curlFrom, startExit, startHome, type GatewayLab } from './lib/gateway-lab.ts';

let lab: Lab;
let g: GatewayLab;
let home: WarrenNode;
let exit: WarrenNode;

beforeAll(async () => {
  lab = await Lab.create('gateway');
  g = await buildGatewayLab(lab);
  exit = await startExit(lab, g);
  home = await startHome(lab, g);
}, 90_000);

afterAll(async () => {
  await lab?.cleanup();
});

describe('gateway', () => {
  test('a LAN device with no Warren reaches the internet from the exit\'s address', async () => {
    const body = await waitFor('curl from the LAN client through the exit', () => curlFrom(lab, g.ns.client, `http://${ADDR.web}/`).then((b) => b ?? undefined), { timeoutMs: 30_000, intervalMs: 250 });
    expect(body).toBe(`client=${ADDR.exitPublic}`);
  });
});
