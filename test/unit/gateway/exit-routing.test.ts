// Exit choice, the device's default route to the exit, and policy routing's commands.

import { describe, expect, test } from 'bun:test';
import { ExitChooser, STALE_MS, FIRST_CONTACT_MS, type ExitHost } from '../../../appliance/gateway/exit-choice.ts';
import { applyRules, applyTunRoutes, removeRouting } from '../../../appliance/system/policy-routing.ts';
import { dnsmasqConfig } from '../../../appliance/system/dnsmasq.ts';
import type { Runner } from '../../../appliance/system/runner.ts';
import { parsePrefix, type Prefix } from '../../../appliance/dataplane/packet/addr.ts';
import type { Peer } from '../../../appliance/session/peer.ts';
import { PeerQuality } from '../../../appliance/session/quality.ts';
import { DEFAULT_PORTS, EXIT_ABSENT, exitIndexOf, exitPortRange } from '../../../appliance/dataplane/exit-ports.ts';
import { Device } from '../../../appliance/device.ts';
import { parseConfigText } from '../../../appliance/config/load.ts';
import { encodeKey } from '../../../appliance/config/schema.ts';
import { generatePrivateKey, publicKeyOf } from '../../../appliance/noise/crypto.ts';

const pfx = (s: string): Prefix => parsePrefix(s)!;

function fakePeer(name: string, keyByte: number, allowed: string[] = []): Peer {
  return { name, publicKey: new Uint8Array(32).fill(keyByte), allowedIps: allowed.map(pfx), lastReceivedMs: 0, quality: new PeerQuality() } as unknown as Peer;
}

function host(peers: Peer[]): ExitHost & { changes: (string | null)[] } {
  const h = {
    peers,
    exitPeer: null as Peer | null,
    changes: [] as (string | null)[],
    setExit(p: Peer | null) {
      h.exitPeer = p;
      h.changes.push(p?.name ?? null);
    },
  };
  return h;
}

describe('exit choice', () => {
  test('a named exit is used as soon as it is a peer, whatever else offers', () => {
    const a = fakePeer('a', 1);
    const b = fakePeer('b', 2);
    const h = host([a, b]);
    const c = new ExitChooser(encodeKey(b.publicKey), h);
    c.offer(a.publicKey, true);
    c.tick(1000);
    expect(h.changes).toEqual(['b']);
  });

  test('auto: offers and 0.0.0.0/0 peers are candidates; a silent exit is replaced by one heard from', () => {
    const a = fakePeer('a', 1);
    const b = fakePeer('b', 2, ['0.0.0.0/0']);
    const other = fakePeer('member', 3);
    const h = host([a, b, other]);
    const c = new ExitChooser('auto', h);
    c.offer(a.publicKey, true);
    expect(c.candidates().map((p) => p.name)).toEqual(['a', 'b']);
    let now = 10_000;
    c.tick(now);
    const first = h.exitPeer!;
    // The first choice never answers: after FIRST_CONTACT_MS the other gets its turn.
    now += FIRST_CONTACT_MS + 1;
    c.tick(now);
    const second = h.exitPeer!;
    expect(second).not.toBe(first);
    second.lastReceivedMs = now;
    now += 1000;
    c.tick(now);
    expect(h.exitPeer).toBe(second); // it answers: kept
    // It goes silent, while the first one is now heard from.
    first.lastReceivedMs = now + STALE_MS - 500;
    now += STALE_MS + 1;
    c.tick(now);
    expect(h.exitPeer).toBe(first);
    c.offer(a.publicKey, false); // a withdraws its offer
    expect(c.candidates().map((p) => p.name)).toEqual(['b']);
  });

  /** Peer `p` answered probes with round trip `rtt` up to `now` (one every 2 s for 20 s). */
  function measured(p: Peer, rtt: number, now: number): void {
    for (let t = now - 20_000; t <= now - 2000; t += 2000) {
      p.quality.heard(t);
      p.quality.probeAnswered(p.quality.probeSent(t), t + rtt);
    }
    p.quality.heard(now);
    p.lastReceivedMs = now;
  }

  test('auto: a failing exit (probes unanswered, nothing heard) is replaced within 5 s by a live one', () => {
    const [a, b] = [fakePeer('a', 1, ['0.0.0.0/0']), fakePeer('b', 2, ['0.0.0.0/0'])];
    const h = host([a, b]);
    const c = new ExitChooser(encodeKey(a.publicKey), h);
    let now = 100_000;
    measured(a, 20, now);
    measured(b, 30, now);
    c.tick(now);
    expect(h.exitPeer).toBe(a);
    c.setWant('auto');
    c.tick(now);
    expect(h.exitPeer).toBe(a); // the exit in use is kept while it answers
    // a dies at `now`; b keeps answering. Probes every 2 s, ticks every second.
    const died = now;
    let replacedAt = 0;
    for (let step = 1; step <= 10 && !replacedAt; step++) {
      now = died + step * 1000;
      if (step % 2 === 0) {
        a.quality.probeSent(now);
        b.quality.probeAnswered(b.quality.probeSent(now), now + 30);
        b.quality.heard(now + 30);
        b.lastReceivedMs = now + 30;
      }
      c.tick(now);
      if (h.exitPeer === b) replacedAt = now;
    }
    expect(replacedAt).toBeGreaterThan(0);
    expect(replacedAt - died).toBeLessThanOrEqual(5000);
  });

  test('auto: among live exits the choice is weighted by quality, random, and never all one way', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const counts: Record<string, number> = { fast: 0, lossy: 0, slow: 0 };
    const now = 100_000;
    for (let i = 0; i < 600; i++) {
      const fast = fakePeer('fast', 1, ['0.0.0.0/0']);
      const slow = fakePeer('slow', 2, ['0.0.0.0/0']);
      const lossy = fakePeer('lossy', 3, ['0.0.0.0/0']);
      measured(fast, 20, now);
      measured(slow, 200, now);
      measured(lossy, 20, now);
      for (let t = now - 9000; t < now - 3000; t += 2000) lossy.quality.probeSent(t); // 3 of 12 lost
      const h = host([fast, slow, lossy]);
      new ExitChooser('auto', h, random).tick(now);
      counts[h.exitPeer!.name]!++;
    }
    expect(counts.fast!).toBeGreaterThan(400);
    expect(counts.slow!).toBeGreaterThan(0); // rarely, but not never
    expect(counts.slow!).toBeLessThan(30);
    expect(counts.lossy!).toBeLessThan(counts.fast! / 4);
    expect(counts.lossy!).toBeGreaterThan(0);
  });
});

describe('device with an exit', () => {
  const secret = encodeKey(crypto.getRandomValues(new Uint8Array(32)));
  const self = generatePrivateKey();
  const exitKey = publicKeyOf(generatePrivateKey());
  const memberKey = publicKeyOf(generatePrivateKey());
  const config = parseConfigText(`[interface]\nname = "t0"\nprivate_key = "${encodeKey(self)}"\naddress = ["100.80.0.1/10"]\n[network]\nsecret = "${secret}"
[[peer]]\nname = "exit"\npublic_key = "${encodeKey(exitKey)}"\nallowed_ips = ["100.80.0.2/32"]
[[peer]]\nname = "member"\npublic_key = "${encodeKey(memberKey)}"\nallowed_ips = ["100.80.0.3/32"]\n`);
  const routes: { prefix: string; slot: number }[][] = [];
  const exitSlots: (readonly number[])[] = [];
  const dev = new Device(config, {
    sendMany: () => {},
    tunWrite: () => true,
    now: () => 1000,
    sender: {
      slots: 8,
      setRoutes: (r: readonly { prefix: Prefix; slot: number }[], exits: readonly number[] = []) => {
        routes.push(r.map((x) => ({ prefix: `${x.prefix.bytes.join('.')}/${x.prefix.bits}`, slot: x.slot })));
        exitSlots.push(exits);
      },
      publish: () => {},
      clearUnanswered: () => {},
      setWireKey: () => {},
      close: () => {},
    } as never,
  });

  test('setExit shares 0.0.0.0/0 → the exit with the data plane; members keep their /32', () => {
    const exit = dev.peerByKey(exitKey)!;
    dev.setExit(exit);
    const last = routes.at(-1)!;
    expect(last).toContainEqual({ prefix: '0.0.0.0/0', slot: exit.slot });
    expect(last).toContainEqual({ prefix: '100.80.0.3/32', slot: dev.peerByKey(memberKey)!.slot });
    expect(dev.exitPeer).toBe(exit);
    dev.setExit(null);
    expect(routes.at(-1)!.some((r) => r.prefix === '0.0.0.0/0')).toBe(false);
  });

  test('per-device exits: their slots go to the data plane by index; an exit that is not a peer drops, a removed one too', () => {
    const exit = dev.peerByKey(exitKey)!;
    const member = dev.peerByKey(memberKey)!;
    dev.setDeviceExits([member, null]);
    expect(exitSlots.at(-1)).toEqual([member.slot, EXIT_ABSENT]);
    dev.setDeviceExits([exit]);
    expect(exitSlots.at(-1)).toEqual([exit.slot]);
    dev.removePeer(exit);
    expect(exitSlots.at(-1)).toEqual([EXIT_ABSENT]); // its devices' traffic waits, it goes nowhere else
    dev.setDeviceExits([]);
    expect(exitSlots.at(-1)).toEqual([]);
  });
});

describe('per-device exit ports', () => {
  const packet = (proto: number, port: number, opts: { v6?: boolean; fragment?: boolean; len?: number } = {}) => {
    const p = new Uint8Array(40);
    p[0] = opts.v6 ? 0x60 : 0x45;
    p[9] = proto;
    if (opts.fragment) p[7] = 10;
    p[20] = port >> 8;
    p[21] = port & 0xff;
    return p.subarray(0, opts.len ?? 40);
  };
  test('TCP and UDP source ports map to their range\'s index; everything else to none', () => {
    expect(exitPortRange(0)).toEqual({ first: 48_000, last: 49_999 });
    expect(exitPortRange(7)).toEqual({ first: 62_000, last: 63_999 });
    expect(() => exitPortRange(8)).toThrow(RangeError);
    expect(DEFAULT_PORTS.last).toBeLessThan(exitPortRange(0).first);
    expect(exitIndexOf(packet(6, 48_000), 40)).toBe(0);
    expect(exitIndexOf(packet(17, 49_999), 40)).toBe(0);
    expect(exitIndexOf(packet(6, 50_000), 40)).toBe(1);
    expect(exitIndexOf(packet(17, 63_999), 40)).toBe(7);
    for (const port of [47_999, 64_000, 1024, 65_535]) expect(exitIndexOf(packet(6, port), 40)).toBe(-1);
    expect(exitIndexOf(packet(1, 48_000), 40)).toBe(-1); // ICMP keeps the appliance's exit
    expect(exitIndexOf(packet(6, 48_000, { v6: true }), 40)).toBe(-1);
    expect(exitIndexOf(packet(6, 48_000, { fragment: true }), 40)).toBe(-1);
    expect(exitIndexOf(packet(6, 48_000, { len: 21 }), 21)).toBe(-1);
  });
});

describe('policy routing', () => {
  test('rules for the mark, resolvers and overlay sources; the table routes to the TUN; removal deletes until none is left', () => {
    const calls: string[] = [];
    let rulesLeft = 2;
    const run: Runner = (argv) => {
      const line = argv.join(' ');
      calls.push(line);
      if (line.startsWith('ip -4 rule del')) return { code: rulesLeft-- > 0 ? 0 : 2, stdout: '', stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    };
    const p = { table: 5741, mark: 0x5741, resolvers: ['198.51.100.53'], self: ['100.80.0.1'] };
    applyRules(run, p);
    expect(calls.filter((c) => c.includes('rule add'))).toEqual([
      'ip -4 rule add priority 5740 fwmark 0x5741 lookup main suppress_prefixlength 0',
      'ip -4 rule add priority 5741 fwmark 0x5741 lookup 5741',
      'ip -4 rule add priority 5742 iif lo to 198.51.100.53/32 lookup 5741',
      'ip -4 rule add priority 5742 iif lo from 100.80.0.1/32 lookup 5741',
    ]);
    expect(calls).toContain('sysctl -qw net.ipv4.ip_forward=1');
    calls.length = 0;
    applyTunRoutes(run, p, 'wrn0');
    expect(calls).toEqual(['ip -4 route replace default dev wrn0 table 5741', 'sysctl -qw net.ipv4.conf.wrn0.rp_filter=2']);
    calls.length = 0;
    rulesLeft = 3;
    removeRouting(run, p);
    expect(calls.filter((c) => c.includes('rule del')).length).toBe(3 + 3); // 3 deleted at the first priority, then one failing try per priority
    expect(calls.slice(-2)).toEqual(['ip -4 route flush table 5741', 'ip -4 route flush table 5743']); // Warren's table and the circuit TUN's
  });

  test('dnsmasq: the LAN only, no resolv.conf, the configured resolvers, DHCP when asked', () => {
    const text = dnsmasqConfig({ lan: 'br-lan', upstream: ['9.9.9.9'], dhcpRange: '192.168.1.100,192.168.1.200,12h', runDir: '/run/warren', log: () => {} });
    for (const line of ['interface=br-lan', 'bind-dynamic', 'no-resolv', 'server=9.9.9.9', 'dhcp-range=192.168.1.100,192.168.1.200,12h']) expect(text.split('\n')).toContain(line);
    expect(dnsmasqConfig({ lan: 'l', upstream: ['1.1.1.1'], dhcpRange: null, runDir: '/r', log: () => {} })).not.toContain('dhcp-range');
  });
});

describe('site-to-site', () => {
  test('a shared LAN that overlaps one of ours or another member\'s is refused; the rest is taken as networks', async () => {
    const { acceptSubnets, overlaps } = await import('../../../appliance/gateway/sites.ts');
    expect(overlaps(pfx('192.168.1.0/24'), pfx('192.168.0.0/16'))).toBe(true);
    expect(overlaps(pfx('192.168.1.0/24'), pfx('192.168.2.0/24'))).toBe(false);
    expect(overlaps(pfx('10.0.0.0/8'), pfx('fd00::/8'))).toBe(false);
    const { accepted, refused } = acceptSubnets(
      [pfx('192.168.1.0/24'), pfx('192.168.50.9/24'), pfx('10.8.0.0/16'), pfx('0.0.0.0/0'), pfx('192.168.50.128/25')],
      [pfx('192.168.1.1/24')],
      [pfx('10.0.0.0/8')],
    );
    const text = (l: Prefix[]) => l.map((x) => `${x.bytes.join('.')}/${x.bits}`);
    expect(text(accepted)).toEqual(['192.168.50.0/24']);
    expect(text(refused)).toEqual(['192.168.1.0/24', '10.8.0.0/16', '0.0.0.0/0', '192.168.50.128/25']);
  });
});
