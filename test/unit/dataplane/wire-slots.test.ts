// The outbound worker seals each peer's data under the key slot of the network secret its
// session was made under (wire-share.ts): after a rotation, a session under the previous secret
// still masks its headers with that secret's key, a new one with the new key.

import { describe, expect, test } from 'bun:test';
import { runOutbound, type WorkerIo } from '../../../appliance/dataplane/outbound-loop.ts';
import { OutboundHost } from '../../../appliance/dataplane/outbound-host.ts';
import { STOP, createRing, ringViews } from '../../../ffi/tun-ring.ts';
import { WAIT_WAKE } from '../../../ffi/dataplane.ts';
import { NativeWire, type DataHeader } from '../../../appliance/wire/wire.ts';
import { deriveWireKeys } from '../../../appliance/wire/keys.ts';
import { Keypair } from '../../../appliance/session/keypair.ts';
import { aeadFor } from '../../../appliance/session/aead.ts';

describe('outbound worker: key slots of the network secret', () => {
  test('each peer is sealed under its own slot; a slot rewritten while running is used from the next wake-up', () => {
    const host = new OutboundHost(4, 1420);
    const [k0, k1, k2] = [0, 1, 2].map(() => deriveWireKeys(crypto.getRandomValues(new Uint8Array(32))));
    host.setWireKey(0, k0!.header);
    host.setWireKey(1, k1!.header);
    const ep = { family: 4 as const, address: '192.0.2.7', port: 4000 };
    const kps = [0, 1].map((slot) => {
      const kp = new Keypair(crypto.getRandomValues(new Uint8Array(32)), new Uint8Array(32), 10 + slot, 0x1000 + slot, true, performance.timeOrigin + performance.now(), aeadFor('chacha20poly1305'));
      kp.wireSlot = slot;
      host.publish(slot, kp, ep);
      return kp;
    });
    const sent: Uint8Array[] = [];
    const ring = createRing(8, 2048);
    let wakes = 0;
    let rewrite = false;
    const io: WorkerIo = {
      wait: () => {
        wakes++;
        if (wakes === 1) {
          host.send(0, new Uint8Array(40).fill(1), false);
          host.send(1, new Uint8Array(40).fill(2), false);
        } else if (wakes === 2) {
          host.setWireKey(1, k2!.header); // a later rotation reused slot 1
          rewrite = true;
          host.send(1, new Uint8Array(40).fill(3), false);
        } else {
          Atomics.store(ringViews(ring).control, STOP, 1);
        }
        return WAIT_WAKE;
      },
      drain: () => {},
      read: () => 0,
      send: (_fd, arena, offs, lens, _addrs, n) => {
        for (let i = 0; i < n; i++) sent.push(arena.slice(offs[i]!, offs[i]! + lens[i]!));
        return n;
      },
    };
    try {
      runOutbound({
        fd: -1, ring, batch: 64, pollMs: 10, sockFd: -1, doorbell: -1, commands: host.commands, table: host.table.sab, slots: 4, stats: host.stats,
        wire: { kind: 'native', headerKeys: host.wireKeys.sab, padding: 'off' }, mtu: 1420, rejectAfterMs: 180_000, routes: host.routes.sab, routeCapacity: host.routes.capacity,
      }, io);
      expect(rewrite).toBe(true);
      expect(sent).toHaveLength(3);
      const indexUnder = (keys: typeof k0, d: Uint8Array): number => {
        const h: DataHeader = { index: 0, counter: 0 };
        new NativeWire(keys!, 'off').readData(d, h);
        return h.index;
      };
      expect(indexUnder(k0, sent[0]!)).toBe(kps[0]!.remoteIndex);
      expect(indexUnder(k1, sent[1]!)).toBe(kps[1]!.remoteIndex);
      expect(indexUnder(k0, sent[1]!)).not.toBe(kps[1]!.remoteIndex);
      expect(indexUnder(k2, sent[2]!)).toBe(kps[1]!.remoteIndex);
      expect(indexUnder(k1, sent[2]!)).not.toBe(kps[1]!.remoteIndex);
    } finally {
      host.dispose();
    }
  });
});
