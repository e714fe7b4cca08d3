// The DHT's socket over the daemon's: KRPC demultiplexing, and sends that survive the errors an
// ICMP message leaves pending on a UDP socket (a departed DHT node once crashed the daemon).

import { describe, expect, test } from 'bun:test';
import { SharedDhtSocket, kindOf, looksLikeKrpc, markReadOnly } from '../../../appliance/discovery/shared-socket.ts';
import bencode from 'bencode';
import { createDht } from '../../../appliance/discovery/dht.ts';

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

  test('read-only (BEP 43): queries leave with ro=1, incoming queries are not answered, responses are', () => {
    const sent: Uint8Array[] = [];
    const s = new SharedDhtSocket({ port: 4000, send: (d) => void sent.push(d.slice()) });
    const query = bencode.encode({ t: 'aa', y: 'q', q: 'ping', a: { id: new Uint8Array(20) } });
    s.send(Buffer.from(query), 0, query.length, 6881, '10.0.0.1');
    const out = bencode.decode(sent[0]!) as Record<string, unknown>;
    expect(out.ro).toBe(1);
    expect(kindOf(sent[0]!)).toBe('q');
    const response = bencode.encode({ t: 'aa', y: 'r', r: { id: new Uint8Array(20) } });
    expect(Buffer.from(markReadOnly(response)).equals(Buffer.from(response))).toBe(true);
    const heard: string[] = [];
    s.on('message', (m: Buffer) => heard.push(kindOf(m) ?? '?'));
    s.deliver(query, 6881, '10.0.0.1');
    s.deliver(response, 6881, '10.0.0.1');
    expect(heard).toEqual(['r']);
    expect(s.queriesIgnored).toBe(1);
  });

  test('a DHT node built here does not add a read-only querier to its routing table', async () => {
    process.env.WARREN_LAB = '1';
    const env = { WARREN_LAB: '1' };
    const a = await createDht({ bootstrap: [], host: '127.0.0.1', env });
    const bootstrap = [`127.0.0.1:${a.address().port}`];
    const full = await createDht({ bootstrap, host: '127.0.0.1', env });
    // A read-only client: its queries carry ro=1.
    let ro: SharedDhtSocket | null = null;
    const udp = await Bun.udpSocket({ hostname: '127.0.0.1', socket: { data: (_s, d, port, addr): void => ro?.deliver(d, port, addr) } });
    ro = new SharedDhtSocket({ port: udp.port, send: (d: Uint8Array, p: number, h: string) => udp.send(d, p, h) });
    const client = await createDht({ bootstrap, host: '127.0.0.1', env, socket: ro });
    try {
      const known = a.client.toJSON().nodes.map((n) => n.port);
      expect(known).toContain(full.address().port);
      expect(known).not.toContain(udp.port);
    } finally {
      await Promise.all([client.close(), full.close(), a.close()]);
      udp.close();
    }
  });
});
