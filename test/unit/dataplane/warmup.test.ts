// The start-up warm-up (appliance/warmup.ts): it must really run the data plane's code (every
// made-up packet through), and leave the real tables and counters untouched.

import { describe, expect, test } from 'bun:test';
import { warmDevicePaths } from '../../../appliance/warmup.ts';
import { warmOutbound } from '../../../appliance/dataplane/outbound-loop.ts';
import { OutboundHost } from '../../../appliance/dataplane/outbound-host.ts';
import { F_COUNTER, F_TX_PACKETS } from '../../../appliance/dataplane/send-table.ts';
import { createRing } from '../../../ffi/tun-ring.ts';
import { RX_LAST } from '../../../appliance/dataplane/recv-table.ts';
import type { OutboundInit } from '../../../appliance/dataplane/outbound-protocol.ts';

describe('data plane warm-up', () => {
  for (const wire of ['native', 'wireguard'] as const) {
    for (const worker of [true, false]) {
      test(`${wire} wire, ${worker ? 'outbound worker' : 'in process'}: every packet goes through a real handshake, seal and open`, () => {
        const r = warmDevicePaths({ wire, padding: 'bucket', cipher: 'auto', mtu: 1420, worker, packets: 300 });
        expect(r.sent).toBe(300);
        expect(r.delivered).toBe(300);
      });
    }
  }

  test('the data-plane loop seals and opens every made-up packet and touches none of the real state', () => {
    const host = new OutboundHost(4, 1420);
    const key = () => crypto.getRandomValues(new Uint8Array(32));
    host.setWireKey(0, key()); // the network secret's header key, as the device sets it
    const init: OutboundInit = {
      fd: -1, ring: createRing(8, 2048), batch: 64, pollMs: 100, sockFd: -1, doorbell: host.doorbell,
      commands: host.commands, table: host.table.sab, slots: 4, stats: host.stats,
      wire: { kind: 'native', headerKeys: host.wireKeys.sab, padding: 'bucket' },
      mtu: 1420, rejectAfterMs: 180_000, routes: host.routes.sab, routeCapacity: host.routes.capacity,
      // Receiving too: the fake I/O never touches this descriptor.
      udpFd: 1_000_000, recv: host.recv.sab, recvCapacity: host.recv.capacity, rx: host.recv.rxSab, inbound: host.inbound,
    };
    try {
      const r = warmOutbound(init, 300);
      expect(r.read).toBeGreaterThanOrEqual(300);
      expect(r.sealed).toBe(r.read); // none forwarded to the main thread, none without a route
      // Every datagram received opened and written, but those from another address (1 in 16):
      // those went to the scratch ring for the main thread.
      expect(r.received).toBeGreaterThan(200);
      expect(r.written).toBeLessThan(r.received);
      expect(r.written).toBeGreaterThan(r.received * 0.85);
      for (let slot = 0; slot < 4; slot++) expect(host.recv.received(slot, RX_LAST)).toBe(0);
      expect(Object.entries(host.counters()).filter(([, v]) => v !== 0)).toEqual([]);
      for (let slot = 0; slot < 4; slot++) {
        expect(host.table.get(slot, F_COUNTER)).toBe(0);
        expect(host.table.get(slot, F_TX_PACKETS)).toBe(0);
      }
    } finally {
      host.dispose();
    }
  });
});
