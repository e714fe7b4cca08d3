// Inbound ports: the NAT-PMP wire format (RFC 6886) with hostile input, the exit's leases and the
// appliance's mappings on a fake clock (gateway/natpmp.ts, gateway/port-forwards.ts).

import { describe, expect, test } from 'bun:test';
import { RESULT, decodeRequest, encodeAddress, encodeError, encodeMap } from '../../../appliance/gateway/natpmp.ts';
import { ExitForwards, LEASE_GRACE_S, MAX_LIFETIME_S, PortMapper, type PortAsk, type PortReply } from '../../../appliance/gateway/port-forwards.ts';
import { inSubnet } from '../../../appliance/gateway/port-service.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('NAT-PMP wire format', () => {
  test('requests as RFC 6886 lays them out', () => {
    expect(decodeRequest(bytes('0000'))).toEqual({ kind: 'address' });
    // map TCP: internal 8080, suggested 51413, lifetime 7200
    expect(decodeRequest(bytes('00020000' + '1f90' + 'c8d5' + '00001c20'))).toEqual({ kind: 'map', proto: 'tcp', internal: 8080, suggested: 51413, lifetime: 7200 });
    expect(decodeRequest(bytes('00010000' + '1ae1' + '0000' + '00000000'))).toEqual({ kind: 'map', proto: 'udp', internal: 6881, suggested: 0, lifetime: 0 });
  });

  test('hostile or foreign input: PCP (version 2) gets "unsupported version", unknown opcodes and short maps an error, responses and crumbs nothing', () => {
    expect(decodeRequest(bytes('0201' + '00'.repeat(58)))).toEqual({ kind: 'bad', opcode: 1, result: RESULT.unsupportedVersion });
    expect(decodeRequest(bytes('0007'))).toEqual({ kind: 'bad', opcode: 7, result: RESULT.unsupportedOpcode });
    expect(decodeRequest(bytes('000200001f90'))).toEqual({ kind: 'bad', opcode: 2, result: RESULT.unsupportedOpcode });
    expect(decodeRequest(bytes('0080'))).toBeNull(); // a response: never answered (no loops between servers)
    expect(decodeRequest(bytes('00'))).toBeNull();
    expect(decodeRequest(new Uint8Array(0))).toBeNull();
    for (let i = 0; i < 2000; i++) {
      const junk = crypto.getRandomValues(new Uint8Array(i % 40));
      expect(() => decodeRequest(junk)).not.toThrow();
    }
  });

  test('responses: opcode + 128, result, epoch, then the address or the mapping', () => {
    expect(hex(encodeAddress(RESULT.success, 12, '203.0.113.20'))).toBe('00800000' + '0000000c' + 'cb007114');
    expect(hex(encodeMap('tcp', RESULT.success, 12, 8080, 51413, 3600))).toBe('00820000' + '0000000c' + '1f90c8d5' + '00000e10');
    expect(hex(encodeMap('udp', RESULT.refused, 1, 6881, 0, 0))).toBe('00810002' + '00000001' + '1ae10000' + '00000000');
    expect(hex(encodeError(1, RESULT.unsupportedVersion, 5))).toBe('00810001' + '00000005');
  });

  test('inSubnet', () => {
    expect(inSubnet('192.168.1.10', '192.168.1.1/24')).toBe(true);
    expect(inSubnet('192.168.2.10', '192.168.1.1/24')).toBe(false);
    expect(inSubnet('10.0.0.1', '0.0.0.0/0')).toBe(true);
    expect(inSubnet('not-an-ip', '192.168.1.1/24')).toBe(false);
  });
});

describe('the exit\'s leases', () => {
  const clock = { t: 1_000_000 };
  const mk = (perMember = 3) => new ExitForwards({ range: { first: 40_000, last: 40_009 }, perMember, reserved: [40_005], now: () => clock.t, random: () => 0.5 });

  test('the suggested port when free; the same inner port renews the same lease; another member gets another port', () => {
    const f = mk();
    expect(f.request('A', '100.80.0.1', 'tcp', 4000, 40_001, 600)).toEqual({ ok: true, external: 40_001, lifetime: 600 });
    expect(f.request('A', '100.80.0.1', 'tcp', 4000, 40_002, 600)).toEqual({ ok: true, external: 40_001, lifetime: 600 });
    const b = f.request('B', '100.80.0.9', 'tcp', 4000, 40_001, 600);
    expect(b.ok && b.external !== 40_001).toBe(true);
    // The same number for UDP is another port.
    expect(f.request('B', '100.80.0.9', 'udp', 4000, 40_001, 600)).toEqual({ ok: true, external: 40_001, lifetime: 600 });
    expect(f.elements()).toContainEqual({ proto: 'tcp', port: 40_001, to: '100.80.0.1', toPort: 4000 });
  });

  test('out of range or reserved suggestions get another port; the lifetime is capped; leases end with the grace', () => {
    const f = mk();
    const r = f.request('A', '100.80.0.1', 'tcp', 4000, 22, 10 ** 9);
    expect(r.ok && r.external >= 40_000 && r.external <= 40_009).toBe(true);
    expect(r.ok && r.lifetime).toBe(MAX_LIFETIME_S);
    const s = f.request('A', '100.80.0.1', 'udp', 4001, 40_005, 5);
    expect(s.ok && s.external).not.toBe(40_005);
    clock.t += (5 + LEASE_GRACE_S) * 1000 - 1;
    expect(f.sweep()).toBe(false);
    clock.t += 1;
    expect(f.sweep()).toBe(true);
    expect(f.list().map((l) => l.proto)).toEqual(['tcp']);
  });

  test('per-member cap, a full range, giving back, and a member gone', () => {
    const f = mk(2);
    f.request('A', '100.80.0.1', 'tcp', 1, 0, 60);
    f.request('A', '100.80.0.1', 'tcp', 2, 0, 60);
    expect(f.request('A', '100.80.0.1', 'tcp', 3, 0, 60)).toMatchObject({ ok: false, code: 'out-of-resources' });
    const g = mk(100);
    for (let i = 0; i < 9; i++) expect(g.request('M', '100.80.0.2', 'tcp', 1000 + i, 0, 60).ok).toBe(true); // 10 ports, one reserved
    expect(g.request('M', '100.80.0.2', 'tcp', 2000, 0, 60)).toMatchObject({ ok: false, code: 'out-of-resources' });
    expect(g.request('M', '100.80.0.2', 'tcp', 1000, 0, 0)).toEqual({ ok: true, external: 0, lifetime: 0 });
    expect(g.list()).toHaveLength(8);
    expect(g.dropMember('M')).toBe(true);
    expect(g.list()).toHaveLength(0);
  });

  test('a narrower range drops the leases outside it', () => {
    const f = mk();
    f.request('A', '100.80.0.1', 'tcp', 1, 40_008, 60);
    expect(f.configure({ first: 40_000, last: 40_004 }, 3, [])).toBe(true);
    expect(f.list()).toEqual([]);
  });
});

describe('the appliance\'s mappings', () => {
  function setup(route: ReturnType<PortMapper['deps']['route']> | (() => ReturnType<PortMapper['deps']['route']>) = { ok: true, exit: 'EXIT1', range: { first: 1024, last: 47_999 } }) {
    const clock = { t: 0 };
    const asked: { exit: string; q: PortAsk }[] = [];
    let answer: (q: PortAsk) => PortReply | null = (q) => ({ ok: true, external: q.lifetime === 0 ? 0 : q.suggested || 30_000, lifetime: q.lifetime, address: '203.0.113.20' });
    let changes = 0;
    const m = new PortMapper({
      route: () => (typeof route === 'function' ? route() : route),
      ask: async (exit, q) => (asked.push({ exit, q }), answer(q)),
      now: () => clock.t,
      log: () => {},
      changed: () => changes++,
      random: () => 0,
      perDevice: 2,
    });
    return { m, clock, asked, setAnswer: (f: typeof answer) => (answer = f), changes: () => changes };
  }

  test('a map asks the exit for the suggested port with an inner port in the device\'s exit range; renewals keep both', async () => {
    const { m, asked, changes } = setup();
    expect(await m.map('192.168.1.10', 'tcp', 8080, 51413, 3600)).toEqual({ result: 'success', external: 51413, lifetime: 3600 });
    expect(asked[0]).toEqual({ exit: 'EXIT1', q: { proto: 'tcp', inner: 1024, suggested: 51413, lifetime: 3600 } });
    expect(m.elements()).toEqual([{ proto: 'tcp', port: 1024, to: '192.168.1.10', toPort: 8080 }]);
    expect(await m.map('192.168.1.10', 'tcp', 8080, 9999, 3600)).toMatchObject({ external: 51413 });
    expect(asked[1]!.q).toEqual({ proto: 'tcp', inner: 1024, suggested: 51413, lifetime: 3600 });
    expect(changes()).toBe(1); // the renewal changed no map
  });

  test('suggested 0 asks for the internal port; per-device cap; the exit\'s refusal and silence become NAT-PMP results', async () => {
    const { m, asked, setAnswer } = setup();
    await m.map('192.168.1.10', 'udp', 6881, 0, 60);
    expect(asked[0]!.q.suggested).toBe(6881);
    await m.map('192.168.1.10', 'udp', 6882, 0, 60);
    expect(await m.map('192.168.1.10', 'udp', 6883, 0, 60)).toMatchObject({ result: 'out-of-resources' });
    setAnswer(() => ({ ok: false, code: 'out-of-resources', error: 'a member may hold 16 ports on this exit' }));
    expect(await m.map('192.168.1.11', 'udp', 1, 0, 60)).toMatchObject({ result: 'out-of-resources' });
    setAnswer(() => null);
    expect(await m.map('192.168.1.11', 'udp', 1, 0, 60)).toMatchObject({ result: 'network-failure' });
    expect(await m.map('192.168.1.11', 'udp', 0, 0, 60)).toMatchObject({ result: 'refused' });
  });

  test('not an overlay device: refused, nothing asked; no exit: network failure', async () => {
    const a = setup({ ok: false, why: 'direct' });
    expect(await a.m.map('192.168.1.20', 'tcp', 80, 80, 60)).toMatchObject({ result: 'refused' });
    expect(a.asked).toEqual([]);
    const b = setup({ ok: false, why: 'no exit in use', noExit: true });
    expect(await b.m.map('192.168.1.10', 'tcp', 80, 80, 60)).toMatchObject({ result: 'network-failure' });
  });

  test('an expired lease closes at the exit too; delete-all (internal 0, lifetime 0) closes every one of the client\'s', async () => {
    const { m, clock, asked } = setup();
    await m.map('192.168.1.10', 'tcp', 8080, 50_000, 10);
    await m.map('192.168.1.10', 'tcp', 8081, 50_001, 100);
    clock.t = 10_000;
    await m.sweep();
    expect(m.list().map((x) => x.internal)).toEqual([8081]);
    expect(asked.at(-1)!.q).toMatchObject({ lifetime: 0, inner: 1024 });
    await m.map('192.168.1.10', 'tcp', 0, 0, 0);
    expect(m.list()).toEqual([]);
    expect(asked.at(-1)!.q).toMatchObject({ lifetime: 0 });
  });

  test('a device whose exit changed moves: its port closes at the old exit and opens at the new one', async () => {
    let exit = 'EXIT1';
    const { m, asked } = setup(() => ({ ok: true, exit, range: { first: 48_000, last: 49_999 } }));
    await m.map('192.168.1.10', 'tcp', 8080, 51413, 600);
    exit = 'EXIT2';
    await m.refresh();
    expect(asked.map((a) => `${a.exit}:${a.q.lifetime}`)).toEqual(['EXIT1:600', 'EXIT1:0', 'EXIT2:600']);
    expect(m.list()).toEqual([expect.objectContaining({ exit: 'EXIT2', inner: 48_000 })]);
  });
});
