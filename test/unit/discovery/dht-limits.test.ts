// [limits] dht_max_values: a DHT node that stores for others keeps at most that many BEP 44 items
// (least recently used evicted), tested at the limit on loopback.

import { afterAll, expect, test } from 'bun:test';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { createDht, type WarrenDht } from '../../../appliance/discovery/dht.ts';
import type { RecordFields } from '../../../appliance/discovery/record.ts';

const LAB = { WARREN_LAB: '1' };
const nodes: WarrenDht[] = [];
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

const fields = (): RecordFields => ({
  staticKey: x25519.getPublicKey(x25519.utils.randomSecretKey()),
  endpoints: [{ ip: '203.0.113.9', port: 51820, kind: 'public' }],
  offers: { relay: false, exit: false },
  timestamp: Math.floor(Date.now() / 1000),
});

test('a storing node holds at most dht_max_values items; more evict the oldest', async () => {
  const store = await createDht({ bootstrap: [], host: '127.0.0.1', env: LAB, maxValues: 3 });
  nodes.push(store);
  const client = await createDht({ bootstrap: [`127.0.0.1:${store.address().port}`], host: '127.0.0.1', env: LAB, readyTimeoutMs: 5_000 });
  nodes.push(client);
  const secret = crypto.getRandomValues(new Uint8Array(32));
  // Each publish puts two items (this hour's and the next hour's record).
  const first = await client.publish(secret, fields(), ed25519.utils.randomSecretKey(), 1);
  expect(first.every((r) => r.stored > 0)).toBe(true);
  expect(store.storedValues()).toBe(2);
  const second = await client.publish(secret, fields(), ed25519.utils.randomSecretKey(), 2);
  expect(second.every((r) => r.stored > 0)).toBe(true);
  expect(store.storedValues()).toBe(3); // at the limit: four items offered, three kept
});
