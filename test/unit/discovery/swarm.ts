// A local DHT swarm on loopback (local bootstrap only, lab mode) and discovery members on it, for
// the discovery service's tests. `useSwarm()` registers its own beforeAll/afterAll.

import { afterAll, beforeAll } from 'bun:test';
import { x25519 } from '@noble/curves/ed25519.js';
import { createDht, type WarrenDht } from '../../../appliance/discovery/dht.ts';
import { DiscoveryService } from '../../../appliance/discovery/service.ts';
import type { MemberRecord } from '../../../appliance/discovery/record.ts';

process.env.WARREN_LAB = '1';
const LAB = { WARREN_LAB: '1' };

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Eight DHT nodes for the file's tests; `member` makes a discovery service that bootstraps from them. */
export function useSwarm(): { member(secret: Uint8Array, seed: Uint8Array, found: Map<string, MemberRecord>): DiscoveryService } {
  const nodes: WarrenDht[] = [];
  let bootstrap: string[] = [];
  beforeAll(async () => {
    const first = await createDht({ bootstrap: [], host: '127.0.0.1', env: LAB });
    nodes.push(first);
    bootstrap = [`127.0.0.1:${first.address().port}`];
    nodes.push(...(await Promise.all(Array.from({ length: 7 }, () => createDht({ bootstrap, host: '127.0.0.1', env: LAB, readyTimeoutMs: 5_000 })))));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });
  return {
    member(secret, seed, found) {
      return new DiscoveryService({
        secret,
        staticKey: x25519.getPublicKey(x25519.utils.randomSecretKey()),
        identitySeed: seed,
        endpoints: () => [{ ip: '127.0.0.1', port: 40000, kind: 'lan' }],
        dht: { bootstrap, host: '127.0.0.1', labRanges: [], env: LAB },
        lookupIntervalMs: 300,
        onMember: (r) => found.set(hex(r.identityKey), r),
        log: () => {},
      });
    },
  };
}
