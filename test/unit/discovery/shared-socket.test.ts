// The DHT's socket over the daemon's: KRPC demultiplexing, and sends that survive the errors an
// ICMP message leaves pending on a UDP socket (a departed DHT node once crashed the daemon).

import { describe, expect, test } from 'bun:test';
import { SharedDhtSocket, looksLikeKrpc } from '../../../appliance/discovery/shared-socket.ts';

const refused = () => Object.assign(new Error('ECONNREFUSED: connection refused, send'), { code: 'ECONNREFUSED' });

describe('shared DHT socket', () => {
  test('a send that throws a pending error is sent again; the callback hears success', () => {
    const sent: string[] = [];
    let failures = 1;
    const s = new SharedDhtSocket({
      port: 4000,
      send: (d, port, address) => {
        if (failures-- > 0) throw refused();
        sent.push(`${Buffer.from(d).toString()}@${address}:${port}`);
      },
    });
    let result: Error | null | undefined;
    s.send(Buffer.from('xxhelloxx'), 2, 5, 6881, '10.0.0.1', (e) => (result = e));
    expect(sent).toEqual(['hello@10.0.0.1:6881']);
    expect(result).toBeNull();
    expect(s.sendErrors).toBe(1);
  });

  test('a send that keeps failing reaches the callback, never the caller', () => {
    const s = new SharedDhtSocket({ port: 4000, send: () => { throw refused(); } });
    let result: Error | null | undefined;
    expect(() => s.send(Buffer.from('hello'), 0, 5, 6881, '10.0.0.1', (e) => (result = e))).not.toThrow();
    expect(result?.message).toContain('ECONNREFUSED');
    expect(() => s.send(Buffer.from('hello'), 0, 5, 6881, '10.0.0.1')).not.toThrow();
  });

  test('KRPC is told apart from the tunnel', () => {
    expect(looksLikeKrpc(Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'))).toBe(true);
    expect(looksLikeKrpc(crypto.getRandomValues(new Uint8Array(100)))).toBe(false);
    expect(looksLikeKrpc(new Uint8Array([1, 0, 0, 0, ...new Uint8Array(144)]))).toBe(false);
  });
});
