// Rotating the network secret: the file's transitions (store.ts), invites that carry the address
// secret, the device's two key slots (a session under the previous secret carries on, a member
// that missed the rotation still comes in, a new key does not), and the daemon's follower
// (rotation.ts) telling members and taking their notices.

import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Device } from '../../../appliance/device.ts';
import { parseConfigText } from '../../../appliance/config/load.ts';
import { encodeKey } from '../../../appliance/config/schema.ts';
import { generatePrivateKey, publicKeyOf } from '../../../appliance/noise/crypto.ts';
import { decodeInvite, encodeInvite } from '../../../appliance/network/invite.ts';
import { assignAddresses } from '../../../appliance/network/addresses.ts';
import {
  adoptRotation, approve, createNetwork, expirePrevious, formatNetwork, isNewer, loadNetwork, parseNetworkText, revoke, rotateNetwork, saveNetwork,
  MAX_ROTATION_GRACE_MS, type Network, type RotationNotice,
} from '../../../appliance/network/store.ts';
import { noticeMessage, parseNotice, SecretRotation, type RotationDevice } from '../../../appliance/network/rotation.ts';

const HOUR = 3600_000;
const T0 = new Date('2026-01-01T00:00:00Z');
const rand = () => crypto.getRandomValues(new Uint8Array(32));
const keyText = () => encodeKey(publicKeyOf(generatePrivateKey()));

function noticeOf(net: Network): RotationNotice {
  return parseNotice(noticeMessage(net))!;
}

describe('the network file across a rotation', () => {
  test('rotateNetwork: a new secret, generation + 1, the old one accepted until now + grace; addresses derive from the first secret', () => {
    const net = createNetwork('home');
    const r = rotateNetwork(net, T0, 2 * HOUR);
    expect(Buffer.from(r.secret).equals(Buffer.from(net.secret))).toBe(false);
    expect(r.generation).toBe(1);
    expect(r.previous?.until.toISOString()).toBe('2026-01-01T02:00:00.000Z');
    expect(Buffer.from(r.previous!.secret).equals(Buffer.from(net.secret))).toBe(true);
    expect(Buffer.from(r.addressSecret).equals(Buffer.from(net.secret))).toBe(true);
    const again = rotateNetwork(r, T0, 0);
    expect(again.generation).toBe(2);
    // 0: only the handover to members online (20 s), not a grace for members away.
    expect(again.previous!.until.getTime()).toBe(T0.getTime() + 20_000);
    expect(Buffer.from(again.addressSecret).equals(Buffer.from(net.secret))).toBe(true);
    // Written and read back whole; a never-rotated file has none of the new fields.
    const back = parseNetworkText(formatNetwork(r), 'x');
    expect(back.generation).toBe(1);
    expect(Buffer.from(back.addressSecret).equals(Buffer.from(net.secret))).toBe(true);
    expect(back.previous?.until.getTime()).toBe(r.previous!.until.getTime());
    expect(formatNetwork(net)).not.toMatch(/generation|address_secret|previous/);
    expect(parseNetworkText(formatNetwork(net), 'x').generation).toBe(0);
    expect(() => rotateNetwork(net, T0, -1)).toThrow(/0 to 720 hours/);
    expect(() => rotateNetwork(net, T0, MAX_ROTATION_GRACE_MS + 1)).toThrow(/0 to 720 hours/);
  });

  test('hostile [previous] and generation fields name the field', () => {
    const text = formatNetwork(rotateNetwork(createNetwork('home'), T0, HOUR));
    expect(() => parseNetworkText(text.replace(/generation = 1/, 'generation = -3'), 'f')).toThrow(/generation/);
    expect(() => parseNetworkText(text.replace(/until = .*/, 'until = "soon"'), 'f')).toThrow(/previous\.until/);
    expect(() => parseNetworkText(text.replace(/address_secret = ".*"/, 'address_secret = "short"'), 'f')).toThrow(/address_secret/);
    expect(() => parseNetworkText(`${text}\n[previous.extra]\n`, 'f')).toThrow();
  });

  test('adoptRotation: only a newer notice of the same network is taken; its revoked keys are revoked here', () => {
    const base = approve(createNetwork('home'), keyText(), T0);
    const leaked = keyText();
    const rotated = rotateNetwork(revoke(base, leaked, T0), T0, 3 * HOUR);
    const member = { ...base, secret: base.secret.slice() };
    const n = noticeOf(rotated);
    expect(n.revoked).toContain(leaked);
    const took = adoptRotation(member, n, T0);
    expect(Buffer.from(took.secret).equals(Buffer.from(rotated.secret))).toBe(true);
    expect(took.generation).toBe(1);
    expect(took.previous?.until.toISOString()).toBe('2026-01-01T03:00:00.000Z');
    expect(took.revoked.map((m) => m.key)).toContain(leaked);
    // Not newer: the same notice again, an older one, another network's.
    expect(adoptRotation(took, n, T0)).toBe(took);
    const ahead = { ...took, generation: 5 };
    expect(adoptRotation(ahead, n, T0)).toBe(ahead);
    const foreign = rotateNetwork(createNetwork('other'), T0, HOUR);
    expect(adoptRotation(member, noticeOf(foreign), T0)).toBe(member);
    // Two members rotated at once: both settle on the greater secret.
    const x = rotateNetwork(base, T0, HOUR);
    const y = rotateNetwork(base, T0, HOUR);
    expect(isNewer(x, noticeOf(y))).toBe(!isNewer(y, noticeOf(x)));
    // A far-off `until` is held to the longest grace.
    const far = adoptRotation(member, { ...n, until: new Date(T0.getTime() + 365 * 24 * HOUR) }, T0);
    expect(far.previous!.until.getTime()).toBe(T0.getTime() + MAX_ROTATION_GRACE_MS);
    // Joined with a new invite: the secret is ours already, only the count moves.
    const joined = { ...createNetwork('home'), secret: rotated.secret.slice(), addressSecret: base.secret.slice() };
    const same = adoptRotation(joined, n, T0);
    expect(same.generation).toBe(1);
    expect(same.previous).toBeNull();
  });

  test('expirePrevious forgets the old secret once its time is over', () => {
    const r = rotateNetwork(createNetwork('home'), T0, HOUR);
    expect(expirePrevious(r, new Date(T0.getTime() + HOUR - 1))).toBe(r);
    expect(expirePrevious(r, new Date(T0.getTime() + HOUR)).previous).toBeNull();
  });

  test('notices: hostile control messages are not notices', () => {
    const good = noticeMessage(rotateNetwork(createNetwork('home'), T0, HOUR));
    expect(parseNotice(good)).not.toBeNull();
    for (const bad of [
      { ...good, t: 'port' }, { ...good, g: 0 }, { ...good, g: 1.5 }, { ...good, g: '1' }, { ...good, s: 'AAAA' }, { ...good, a: null },
      { ...good, u: 'never' }, { ...good, r: 'x' }, { ...good, r: ['<script>'] }, { ...good, r: Array(13).fill(keyText()) }, {},
    ]) expect(parseNotice(bad as Record<string, unknown>)).toBeNull();
  });
});

describe('invites of a rotated network', () => {
  test('version 2 carries the address secret; a network never rotated keeps version 1', () => {
    const net = createNetwork('home');
    expect(encodeInvite(net.name, net.secret, net.addressSecret)).toStartWith('warren1:');
    const r = rotateNetwork(net, T0, HOUR);
    const text = encodeInvite(r.name, r.secret, r.addressSecret);
    expect(text).toStartWith('warren2:');
    const back = decodeInvite(text);
    expect(Buffer.from(back.secret).equals(Buffer.from(r.secret))).toBe(true);
    expect(Buffer.from(back.addressSecret).equals(Buffer.from(net.secret))).toBe(true);
    // The same overlay address from either side of the rotation.
    const k = publicKeyOf(generatePrivateKey());
    expect(assignAddresses(k, [], back.addressSecret).ipv4).toBe(assignAddresses(k, [], net.secret).ipv4);
    expect(decodeInvite(encodeInvite(net.name, net.secret)).addressSecret).toEqual(net.secret);
  });
});

// ---- The device's two key slots ----

interface Node {
  dev: Device;
  tunOut: Uint8Array[];
  out: Uint8Array[];
  admitted: { key: string; previous: boolean }[];
}

function ipv4(src: string, dst: string): Uint8Array {
  const p = new Uint8Array(28);
  p.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17]);
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  return p;
}

function node(self: Uint8Array, peer: Uint8Array | null, addr: string, peerNet: string, secret: Uint8Array, clock: { t: number }, endpoint: boolean): Node {
  const config = parseConfigText(`
[interface]
name = "t0"
private_key = "${encodeKey(self)}"
address = ["${addr}/24"]
[network]
secret = "${encodeKey(secret)}"
${peer ? `[[peer]]
public_key = "${encodeKey(publicKeyOf(peer))}"
allowed_ips = ["${peerNet}"]
${endpoint ? 'endpoint = "192.168.77.2:51820"' : ''}` : ''}
`);
  const n: Node = { dev: undefined as unknown as Device, tunOut: [], out: [], admitted: [] };
  n.dev = new Device(config, {
    sendMany: (list) => {
      for (let i = 0; i < list.length; i += 3) n.out.push((list[i] as Uint8Array).slice());
    },
    tunWrite: (p) => {
      n.tunOut.push(p.slice());
      return true;
    },
    now: () => clock.t,
    wallNow: () => 1_700_000_000_000 + clock.t,
    admitInitiator: (key, previous) => {
      n.admitted.push({ key: encodeKey(key), previous });
      return previous ? null : { name: 'new', publicKey: key, presharedKey: new Uint8Array(32), endpoint: null, allowedIps: [], persistentKeepalive: 0 };
    },
  });
  return n;
}

function pump(a: Node, b: Node): void {
  for (let round = 0; round < 20; round++) {
    const fromA = a.out.splice(0);
    const fromB = b.out.splice(0);
    if (fromA.length + fromB.length === 0) return;
    for (const d of fromA) b.dev.inbound(d, 51820, '192.168.77.1');
    for (const d of fromB) a.dev.inbound(d, 51820, '192.168.77.2');
  }
}

describe('device: two key slots of the network secret', () => {
  const s1 = rand();
  const s2 = rand();
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  const ping = ipv4('10.99.0.1', '10.99.0.2');
  const pong = ipv4('10.99.0.2', '10.99.0.1');

  function pair(clock: { t: number }) {
    const a = node(ka, kb, '10.99.0.1', '10.99.0.2/32', s1, clock, true);
    const b = node(kb, ka, '10.99.0.2', '10.99.0.1/32', s1, clock, false);
    a.dev.outbound([ping], 1);
    pump(a, b);
    expect(b.tunOut).toHaveLength(1);
    return { a, b };
  }

  test('after a rotation the session in use carries on both ways; a new handshake to a member that missed it goes under the previous secret on the retry', () => {
    const clock = { t: 1000 };
    const { a, b } = pair(clock);
    const pa = a.dev.peers[0]!;
    a.dev.rotateSecret(s2);
    expect(a.dev.acceptsPreviousSecret).toBe(true);
    expect(a.dev.onPreviousSecret(pa)).toBe(true);
    a.dev.outbound([ping], 1);
    b.dev.outbound([pong], 1);
    pump(a, b);
    expect(b.tunOut).toHaveLength(2);
    expect(a.tunOut).toHaveLength(1);
    // A handshakes again: B (still under s1 only) cannot open the first try…
    clock.t += 6_000; // (at most one initiation per REKEY_TIMEOUT)
    a.dev.rehandshake(pa);
    const first = a.out.length;
    expect(first).toBe(1);
    pump(a, b);
    expect(pa.stats.handshakes).toBe(1);
    // …the retry 5 s later goes under the previous secret, which B opens.
    clock.t += 5_400;
    a.dev.tick();
    pump(a, b);
    expect(pa.stats.handshakes).toBe(2);
    expect(a.dev.onPreviousSecret(pa)).toBe(true);
    // B takes the new secret and handshakes: both sessions are under s2 now.
    b.dev.rotateSecret(s2);
    clock.t += 6_000;
    b.dev.rehandshake(b.dev.peers[0]!);
    pump(a, b);
    expect(a.dev.onPreviousSecret(pa)).toBe(false);
    expect(b.dev.onPreviousSecret(b.dev.peers[0]!)).toBe(false);
    a.dev.outbound([ping], 1);
    pump(a, b);
    expect(b.tunOut).toHaveLength(3);
    // Dropping the previous secret keeps the new sessions.
    a.dev.dropPreviousSecret();
    expect(a.dev.acceptsPreviousSecret).toBe(false);
    b.dev.outbound([pong], 1);
    pump(a, b);
    expect(a.tunOut).toHaveLength(2);
  });

  test('under the previous secret a known member comes in, a new key is asked with previous = true (and refused here)', () => {
    const clock = { t: 1000 };
    const a = node(ka, kb, '10.99.0.1', '10.99.0.2/32', s2, clock, false);
    a.dev.rotateSecret(rand()); // s2 is the previous secret now
    // B still has s2 only, and is a configured peer of A: it comes in.
    const b = node(kb, ka, '10.99.0.2', '10.99.0.1/32', s2, clock, true);
    b.dev.outbound([pong], 1);
    pump(b, a);
    expect(a.tunOut).toHaveLength(1);
    expect(a.dev.onPreviousSecret(a.dev.peers[0]!)).toBe(true);
    // A stranger with s2 and A's key configured: A asks, saying it came under the previous secret.
    const kc = generatePrivateKey();
    const c = node(kc, ka, '10.99.0.3', '10.99.0.1/32', s2, clock, true);
    c.dev.outbound([ipv4('10.99.0.3', '10.99.0.1')], 1);
    pump(c, a);
    expect(a.admitted).toEqual([{ key: encodeKey(publicKeyOf(kc)), previous: true }]);
    expect(a.tunOut).toHaveLength(1);
  });

  test('once the previous secret is dropped, its sessions end and a member still under it cannot come back', () => {
    const clock = { t: 1000 };
    const { a, b } = pair(clock);
    a.dev.rotateSecret(s2);
    a.dev.dropPreviousSecret();
    expect(a.dev.peers[0]!.current).toBeNull();
    b.dev.outbound([pong], 1);
    pump(a, b);
    expect(a.tunOut).toHaveLength(0);
    clock.t += 200_000; // B's session is past its life: it handshakes under s1, which A no longer opens
    b.dev.outbound([pong], 1);
    pump(a, b);
    for (let i = 0; i < 4; i++) {
      clock.t += 5_400;
      b.dev.tick();
      pump(a, b);
    }
    expect(a.tunOut).toHaveLength(0);
    expect(a.dev.counters.dropMalformed).toBeGreaterThan(0);
  });
});

// ---- The daemon's follower ----

describe('SecretRotation: the daemon follows the network file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-rotation-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  interface FakePeer { publicKey: Uint8Array; name: string; previous: boolean }
  function fakeDevice(peers: FakePeer[]) {
    const sent: { to: string; msg: Record<string, unknown> }[] = [];
    const rotated: Uint8Array[] = [];
    const rehandshakes: string[] = [];
    let dropped = 0;
    const dev: RotationDevice<FakePeer> & { accepts: boolean } = {
      peers,
      accepts: false,
      get acceptsPreviousSecret() {
        return this.accepts;
      },
      onPreviousSecret: (p) => p.previous,
      rotateSecret(s) {
        rotated.push(s);
        this.accepts = true;
        for (const p of peers) p.previous = true;
      },
      dropPreviousSecret() {
        dropped++;
        this.accepts = false;
      },
      sendControl: (p, msg) => {
        sent.push({ to: p.name, msg: msg as Record<string, unknown> });
        return true;
      },
      rehandshake: (p) => rehandshakes.push(p.name),
    };
    return { dev, sent, rotated, rehandshakes, dropped: () => dropped };
  }

  test('a rotation written to the file: the device rotates, approved members under the old secret are told, revoked ones never', () => {
    const file = join(dir, 'a.toml');
    const friend = { publicKey: rand(), name: 'friend', previous: false };
    const leaked = { publicKey: rand(), name: 'leaked', previous: false };
    let net = approve(createNetwork('home'), encodeKey(friend.publicKey), T0);
    net = revoke(net, encodeKey(leaked.publicKey), T0);
    saveNetwork(file, net);
    const f = fakeDevice([friend, leaked]);
    let clock = T0.getTime();
    const secrets: (Uint8Array | null)[][] = [];
    const r = new SecretRotation({ file, dev: f.dev, isApproved: (k) => encodeKey(k) === encodeKey(friend.publicKey), onSecrets: (s, p) => secrets.push([s, p]), log: () => {}, now: () => clock }, net.secret);
    r.tick();
    expect(f.rotated).toHaveLength(0);
    saveNetwork(file, rotateNetwork(loadNetwork(file), new Date(clock), HOUR));
    r.tick();
    const now = loadNetwork(file);
    expect(f.rotated.map((s) => encodeKey(s))).toEqual([encodeKey(now.secret)]);
    expect(secrets.at(-1)!.map((s) => s && encodeKey(s))).toEqual([encodeKey(now.secret), encodeKey(net.secret)]);
    expect(f.sent.map((s) => s.to)).toEqual(['friend']);
    expect(parseNotice(f.sent[0]!.msg)!.revoked).toEqual([encodeKey(leaked.publicKey)]);
    // Told again every 2 s while its session is under the old secret; not once it moved.
    clock += 2_000;
    r.tick();
    expect(f.sent).toHaveLength(2);
    friend.previous = false;
    clock += 2_000;
    r.tick();
    expect(f.sent).toHaveLength(2);
    // The grace ends: the file forgets the old secret, and the device with it.
    clock += HOUR;
    r.tick();
    expect(loadNetwork(file).previous).toBeNull();
    expect(f.dropped()).toBe(1);
  });

  test('a notice from an approved member is written to the file and followed; unapproved, older or foreign ones are not', () => {
    const file = join(dir, 'b.toml');
    const rotator = { publicKey: rand(), name: 'rotator', previous: true };
    const stranger = { publicKey: rand(), name: 'stranger', previous: true };
    const base = approve(createNetwork('home'), encodeKey(rotator.publicKey), T0);
    saveNetwork(file, base);
    const f = fakeDevice([rotator, stranger]);
    const r = new SecretRotation({ file, dev: f.dev, isApproved: (k) => encodeKey(k) === encodeKey(rotator.publicKey), onSecrets: () => {}, log: () => {}, now: () => T0.getTime() }, base.secret);
    const theirs = rotateNetwork(base, T0, HOUR);
    const msg = noticeMessage(theirs);
    expect(r.onControl(stranger, msg)).toBe(true);
    expect(loadNetwork(file).generation).toBe(0);
    expect(r.onControl(rotator, { t: 'port' })).toBe(false);
    expect(r.onControl(rotator, noticeMessage(rotateNetwork(createNetwork('other'), T0, HOUR)))).toBe(true);
    expect(loadNetwork(file).generation).toBe(0);
    expect(r.onControl(rotator, msg)).toBe(true);
    const mine = loadNetwork(file);
    expect(encodeKey(mine.secret)).toBe(encodeKey(theirs.secret));
    expect(mine.generation).toBe(1);
    expect(f.rotated).toHaveLength(1);
    expect(f.rehandshakes).toContain('rotator'); // its session was under the old secret
    // The same notice again: nothing new is written; the sender, still under the old secret, is asked to move.
    f.rehandshakes.length = 0;
    expect(r.onControl(rotator, msg)).toBe(true);
    expect(f.rotated).toHaveLength(1);
    expect(f.rehandshakes).toEqual(['rotator']);
    expect(readFileSync(file, 'utf8')).toContain('[previous]');
    expect(r.stats.noticesIgnored).toBe(2);
  });
});
