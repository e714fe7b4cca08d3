// The lab guard: under WARREN_LAB=1 nothing outside loopback and the given lab ranges is ever
// sent to. A fake socket records what would have left; it must stay empty for refused addresses.

import { describe, expect, test } from 'bun:test';
import { EventEmitter } from 'node:events';
import { DhtError, createDht, PUBLIC_BOOTSTRAP } from '../../../appliance/discovery/dht.ts';
import { LabGuardError, createLabGuard, guardSocket, labGuardFromEnv } from '../../../appliance/discovery/lab-guard.ts';

process.env.WARREN_LAB = '1';
const LAB = { WARREN_LAB: '1' };

/** Enough of a dgram socket for k-rpc-socket; records every datagram instead of sending it. */
class FakeSocket extends EventEmitter {
  readonly sent: Array<{ host: unknown; port: unknown }> = [];
  send(...args: unknown[]): void {
    this.sent.push({ port: args[3], host: args[4] });
  }
  bind(): void {
    queueMicrotask(() => this.emit('listening'));
  }
  address() {
    return { address: '127.0.0.1', family: 'IPv4', port: 40000 };
  }
  close(): void {
    queueMicrotask(() => this.emit('close'));
  }
}

function refusal(run: () => unknown): LabGuardError {
  try {
    run();
  } catch (e) {
    if (e instanceof LabGuardError) return e;
    throw e;
  }
  throw new Error('expected a LabGuardError');
}

async function refusalAsync(run: () => Promise<unknown>): Promise<LabGuardError> {
  try {
    await run();
  } catch (e) {
    if (e instanceof LabGuardError) return e;
    throw e;
  }
  throw new Error('expected a LabGuardError');
}

describe('lab guard', () => {
  test('loopback and explicit lab ranges pass; everything else is refused', () => {
    const guard = createLabGuard(['10.99.0.0/16']);
    for (const ok of ['127.0.0.1', '127.8.9.10', '::1', '10.99.200.1']) expect(() => guard.check(ok, 1)).not.toThrow();
    for (const bad of ['8.8.8.8', '10.98.0.1', '192.168.1.1', '2001:db8::1', '0.0.0.0']) expect(refusal(() => guard.check(bad, 1)).kind).toBe('outside-lab');
    for (const bad of ['router.bittorrent.com', 'localhost', '', undefined]) expect(refusal(() => guard.check(bad)).kind).toBe('not-an-ip');
    expect(refusal(() => createLabGuard(['10.99.0.0'])).kind).toBe('bad-range');
    expect(labGuardFromEnv({})).toBeNull();
    expect(labGuardFromEnv(LAB)).not.toBeNull();
  });

  test('a guarded socket throws before sending to a non-lab address', () => {
    const socket = guardSocket(new FakeSocket(), createLabGuard());
    expect(refusal(() => socket.send(Buffer.alloc(1), 0, 1, 6881, '8.8.8.8')).kind).toBe('outside-lab');
    expect(refusal(() => socket.send(Buffer.alloc(1), 6881, '1.1.1.1')).kind).toBe('outside-lab');
    expect(refusal(() => socket.send(Buffer.alloc(1), 6881)).kind).toBe('not-an-ip');
    expect(socket.sent).toEqual([]);
    socket.send(Buffer.alloc(1), 0, 1, 6881, '127.0.0.1');
    expect(socket.sent).toEqual([{ host: '127.0.0.1', port: 6881 }]);
  });

  test('createDht refuses a public bootstrap before any socket is touched', async () => {
    const socket = new FakeSocket();
    expect((await refusalAsync(() => createDht({ bootstrap: ['8.8.8.8:6881'], env: LAB, socket }))).kind).toBe('outside-lab');
    // The production default (public routers by name) would need DNS: refused, not resolved.
    expect(PUBLIC_BOOTSTRAP.length).toBeGreaterThan(0);
    expect((await refusalAsync(() => createDht({ env: LAB, socket }))).kind).toBe('not-an-ip');
    expect(socket.sent).toEqual([]);
    expect(socket.listenerCount('message')).toBe(0); // the DHT was never built on it
  });

  test("the running DHT's own sends are guarded: a non-lab node is refused, no datagram leaves", async () => {
    const socket = new FakeSocket();
    const dht = await createDht({ bootstrap: [], env: LAB, socket, labRanges: ['10.99.0.0/16'] });
    try {
      expect(refusal(() => dht.client.addNode({ host: '8.8.8.8', port: 6881 })).kind).toBe('outside-lab');
      expect(refusal(() => dht.client.addNode({ host: 'router.utorrent.com', port: 6881 })).kind).toBe('not-an-ip');
      expect(socket.sent).toEqual([]);
      dht.client.addNode({ host: '10.99.0.5', port: 6881 }); // a lab range passed explicitly
      dht.client.addNode({ host: '127.0.0.1', port: 6881 });
      expect(socket.sent.map((s) => s.host)).toEqual(['10.99.0.5', '127.0.0.1']);
    } finally {
      await dht.close();
    }
  });
});

describe('a DHT alone', () => {
  test('publish and lookup end promptly with nothing stored or found; a closed DHT refuses work', async () => {
    const socket = new FakeSocket();
    const dht = await createDht({ bootstrap: [], env: LAB, socket });
    const secret = new Uint8Array(32).fill(3);
    const fields = { staticKey: new Uint8Array(32).fill(1), endpoints: [], offers: { relay: false, exit: false }, timestamp: Math.floor(Date.now() / 1000) };
    const started = performance.now();
    const results = await dht.publish(secret, fields, new Uint8Array(32).fill(2), 0, 1_000);
    expect(results.map((r) => r.stored)).toEqual([0, 0]);
    expect(results.every((r) => typeof r.error === 'string')).toBe(true);
    expect(await dht.lookup(secret, 1_000)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(socket.sent).toEqual([]);
    await dht.close();
    await expect(dht.lookup(secret)).rejects.toBeInstanceOf(DhtError);
  });
});
