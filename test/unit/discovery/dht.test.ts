// A local swarm of bittorrent-dht nodes on 127.0.0.1 (one process, local bootstrap only — never
// the public routers): members publish BEP 44 records, a member finds them, a non-member finds
// nothing, and an observer of hour H cannot follow the network into hour H+1.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { createDht, type WarrenDht } from '../../../appliance/discovery/dht.ts';
import { sha1 } from '@noble/hashes/legacy.js';
import type { RecordFields } from '../../../appliance/discovery/record.ts';
import { hourKeyPair, hourTargets, mutableTarget } from '../../../appliance/discovery/rendezvous.ts';

process.env.WARREN_LAB = '1';
const LAB = { WARREN_LAB: '1' };
const SWARM = 20;
const H = 480_000;
const LOOKUP_MS = 5_000;

let clockMs = H * 3600 * 1000 + 5 * 60 * 1000; // five minutes into hour H
const now = () => clockMs;
const nodes: WarrenDht[] = [];
const secret = crypto.getRandomValues(new Uint8Array(32));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function member(ip: string) {
  const identity = ed25519.utils.randomSecretKey();
  const fields: RecordFields = {
    staticKey: x25519.getPublicKey(x25519.utils.randomSecretKey()),
    endpoints: [{ ip, port: 51820, kind: 'public' }, { ip: '192.168.7.2', port: 51820, kind: 'lan' }],
    offers: { relay: true, exit: ip.endsWith('2') },
    timestamp: Math.floor(clockMs / 1000),
  };
  return { identity, identityKey: hex(ed25519.getPublicKey(identity)), fields };
}
const alice = member('203.0.113.1');
const bob = member('203.0.113.2');

beforeAll(async () => {
  const first = await createDht({ bootstrap: [], host: '127.0.0.1', env: LAB, now });
  nodes.push(first);
  const bootstrap = [`127.0.0.1:${first.address().port}`];
  // Join in small batches so later nodes find earlier ones through the bootstrap node.
  while (nodes.length < SWARM) {
    const batch = Array.from({ length: Math.min(5, SWARM - nodes.length) }, () => createDht({ bootstrap, host: '127.0.0.1', env: LAB, now, readyTimeoutMs: 5_000 }));
    nodes.push(...(await Promise.all(batch)));
  }
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

const at = (i: number): WarrenDht => {
  const n = nodes[i];
  if (!n) throw new Error(`no node ${i}`);
  return n;
};

describe('discovery over a local DHT swarm', () => {
  test('the swarm runs on loopback only', () => {
    expect(nodes.length).toBe(SWARM);
    for (const n of nodes) expect(n.address().address).toBe('127.0.0.1');
    expect(at(SWARM - 1).client.toJSON().nodes.every((peer) => peer.host === '127.0.0.1')).toBe(true);
  });

  test('two members publish; a third member finds both records', async () => {
    const published = await Promise.all([
      at(3).publish(secret, alice.fields, alice.identity, 2),
      at(11).publish(secret, bob.fields, bob.identity, 9),
    ]);
    for (const results of published) {
      expect(results.map((r) => r.hour)).toEqual([H, H + 1]);
      for (const r of results) expect(r.stored).toBeGreaterThan(0);
    }
    const started = performance.now();
    const found = await at(17).lookup(secret, LOOKUP_MS);
    expect(performance.now() - started).toBeLessThan(LOOKUP_MS);
    expect(found.map((r) => hex(r.identityKey)).sort()).toEqual([alice.identityKey, bob.identityKey].sort());
    const b = found.find((r) => hex(r.identityKey) === bob.identityKey);
    expect(b?.endpoints).toEqual(bob.fields.endpoints);
    expect(b?.offers).toEqual({ relay: true, exit: true });
  });

  test('a non-member (another secret) finds nothing', async () => {
    const other = crypto.getRandomValues(new Uint8Array(32));
    expect(await at(8).lookup(other, LOOKUP_MS)).toEqual([]);
  });

  test('an observer of hour H cannot follow the network into hour H+1', async () => {
    // Everything the observer saw in hour H: the key, every salt and target, every item.
    const seen = hourTargets(secret, H);
    const k = seen[0]!.publicKey;
    const itemsH = (await Promise.all(seen.map((t) => at(5).getMutable(t.publicKey, t.salt, t.target, LOOKUP_MS)))).filter((i) => i !== null);
    expect(itemsH.length).toBe(2);
    const valuesH = new Set(itemsH.map((i) => hex(i.value)));

    clockMs += 3600 * 1000; // hour H+1
    expect(at(5).hour()).toBe(H + 1);

    // Members still find both (the records were published for H+1 in advance).
    const found = await at(17).lookup(secret, LOOKUP_MS);
    expect(found.map((r) => hex(r.identityKey)).sort()).toEqual([alice.identityKey, bob.identityKey].sort());

    // The targets the observer can compute: hour H's key with H's salts, hashes of them, no salt.
    const guesses = [
      ...seen.map((t) => ({ salt: t.salt, target: t.target })),
      ...seen.map((t) => ({ salt: sha1(t.salt), target: mutableTarget(k, sha1(t.salt)) })),
      ...seen.map((t) => ({ salt: t.target, target: mutableTarget(k, t.target) })),
      { salt: new Uint8Array(0), target: mutableTarget(k, new Uint8Array(0)) },
    ];
    const trueNext = hourTargets(secret, H + 1);
    const guessed = new Set(guesses.map((g) => hex(g.target)));
    expect(trueNext.some((t) => guessed.has(hex(t.target)))).toBe(false);
    expect(hex(hourKeyPair(secret, H + 1).publicKey)).not.toBe(hex(k));

    const got = await Promise.all(guesses.map((g) => at(5).getMutable(k, g.salt, g.target, LOOKUP_MS)));
    const valuesNext = (await Promise.all(trueNext.map((t) => at(5).getMutable(t.publicKey, t.salt, t.target, LOOKUP_MS)))).filter((i) => i !== null);
    expect(valuesNext.length).toBe(2); // the H+1 items exist …
    const nextSet = new Set(valuesNext.map((i) => hex(i.value)));
    for (const item of got) {
      if (!item) continue;
      expect(valuesH.has(hex(item.value))).toBe(true); // … but guesses only return what was already seen
      expect(nextSet.has(hex(item.value))).toBe(false);
    }
  });

  test('past the last published hour, lookup falls back to the previous hour', async () => {
    clockMs = (H + 2) * 3600 * 1000 + 60 * 1000; // H+2: nothing published for it
    const found = await at(14).lookup(secret, LOOKUP_MS);
    expect(found.map((r) => hex(r.identityKey)).sort()).toEqual([alice.identityKey, bob.identityKey].sort());
  });
});
