// A DHT node whose bootstrap found no one (the network was not up yet) asks its bootstrap nodes
// again when it is isolated, instead of waiting for bittorrent-dht's 15-minute bucket check.

import { afterAll, expect, test } from 'bun:test';
import { createSocket } from 'node:dgram';
import { createDht, type WarrenDht } from '../../../appliance/discovery/dht.ts';

const LAB = { WARREN_LAB: '1' };
const nodes: WarrenDht[] = [];
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

/** A free UDP port on loopback (bound, read, released). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('isolated after a bootstrap that found no one, the node rejoins once a bootstrap node answers', async () => {
  const port = await freePort();
  const lonely = await createDht({ bootstrap: [`127.0.0.1:${port}`], host: '127.0.0.1', env: LAB, readyTimeoutMs: 5_000 });
  nodes.push(lonely);
  expect(lonely.client.toJSON().nodes).toHaveLength(0);
  const boot = await createDht({ bootstrap: [], host: '127.0.0.1', port, env: LAB });
  nodes.push(boot);
  expect(lonely.rejoinIfIsolated()).toBe(true);
  const deadline = Date.now() + 5_000;
  while (lonely.client.toJSON().nodes.length === 0 && Date.now() < deadline) await Bun.sleep(50);
  expect(lonely.client.toJSON().nodes.length).toBeGreaterThan(0);
  expect(lonely.rejoinIfIsolated()).toBe(false); // not isolated any more
  expect(boot.rejoinIfIsolated()).toBe(false); // a node that starts a network has no one to ask
});
