// Overlay addresses (appliance/network/addresses.ts): derived, in range, and agreed on.

import { describe, expect, test } from 'bun:test';
import { blake2s } from '@noble/hashes/blake2.js';
import {
  AddressError,
  assignAddresses,
  assignAll,
  findDuplicates,
  ipv4Candidate,
  networkCandidateHash,
  ulaPrefix,
  type CandidateHash,
} from '../../../appliance/network/addresses.ts';
import { parseIp } from '../../../appliance/dataplane/packet/addr.ts';

const SECRET = new Uint8Array(32).fill(5);
const OTHER_SECRET = new Uint8Array(32).fill(6);
/** Deterministic 32-byte keys; addresses only hash keys, so they need not be curve points. */
const key = (i: number) => blake2s(new TextEncoder().encode(`test key ${i}`));
const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');

function inIpv4Range(ip: string): boolean {
  const b = parseIp(ip);
  return !!b && b.length === 4 && b[0] === 100 && (b[1] as number) >= 64 && (b[1] as number) <= 127 && b[3] !== 0 && b[3] !== 255;
}

function inUla(ip: string, secret: Uint8Array): boolean {
  const b = parseIp(ip);
  const p = parseIp(ulaPrefix(secret).split('/')[0] as string);
  return !!b && !!p && b.length === 16 && b[0] === 0xfd && hex(b.subarray(0, 8)) === hex(p.subarray(0, 8)) && !b.subarray(8).every((x) => x === 0);
}

describe('derivation', () => {
  test('deterministic and inside the ranges', () => {
    const members = Array.from({ length: 50 }, (_, i) => key(i));
    for (const k of members) {
      const a = assignAddresses(k, members, SECRET);
      expect(assignAddresses(k, [...members].reverse(), SECRET)).toEqual(a);
      expect(inIpv4Range(a.ipv4)).toBe(true);
      expect(inUla(a.ipv6, SECRET)).toBe(true);
    }
  });

  test('the ULA /48 is fd00::/8 plus 40 bits from the secret, different per network', () => {
    expect(ulaPrefix(SECRET)).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
    expect(ulaPrefix(SECRET)).toBe(ulaPrefix(SECRET.slice()));
    expect(ulaPrefix(OTHER_SECRET)).not.toBe(ulaPrefix(SECRET));
  });

  test('the same key has unrelated addresses in another network', () => {
    const a = assignAddresses(key(1), [], SECRET);
    const b = assignAddresses(key(1), [], OTHER_SECRET);
    expect(a.ipv4).not.toBe(b.ipv4);
    expect(a.ipv6.split(':').slice(-4)).not.toEqual(b.ipv6.split(':').slice(-4));
  });

  test('the IPv4 mapping covers the whole /10 and never ends in .0 or .255', () => {
    expect([...ipv4Candidate(new Uint8Array(4))]).toEqual([100, 64, 0, 1]);
    const second = new Set<number>();
    const third = new Set<number>();
    const fourth = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const ip = ipv4Candidate(blake2s(Uint8Array.of(i & 0xff, i >> 8)));
      second.add(ip[1] as number);
      third.add(ip[2] as number);
      fourth.add(ip[3] as number);
    }
    expect(Math.min(...second)).toBe(64);
    expect(Math.max(...second)).toBe(127);
    expect(second.size).toBe(64);
    expect(third.size).toBe(256);
    expect(fourth.size).toBe(254);
    expect(Math.min(...fourth)).toBe(1);
    expect(Math.max(...fourth)).toBe(254);
  });

  test('bad lengths are refused', () => {
    expect(() => assignAddresses(new Uint8Array(31), [], SECRET)).toThrow(AddressError);
    expect(() => assignAddresses(key(1), [new Uint8Array(3)], SECRET)).toThrow(AddressError);
    expect(() => ulaPrefix(new Uint8Array(16))).toThrow(AddressError);
  });
});

describe('collisions', () => {
  test('a real IPv4 collision (found by a birthday search) moves both members to other candidates', () => {
    const h = networkCandidateHash(SECRET);
    const seen = new Map<string, number>();
    let pair: [number, number] | null = null;
    for (let i = 0; i < 200_000 && !pair; i++) {
      const ip = ipv4Candidate(h('ipv4', key(i), 0)).join('.');
      const j = seen.get(ip);
      if (j !== undefined) pair = [j, i];
      seen.set(ip, i);
    }
    expect(pair).not.toBeNull();
    const [i, j] = pair as [number, number];
    const a = key(i);
    const b = key(j);
    const alone = assignAddresses(a, [], SECRET);
    expect(assignAddresses(b, [], SECRET).ipv4).toBe(alone.ipv4); // they do collide
    const members = [a, b, key(-1), key(-2)];
    const all = assignAll(members, SECRET);
    const ra = all.get(hex(a));
    const rb = all.get(hex(b));
    expect(ra?.ipv4Attempt).toBe(1);
    expect(rb?.ipv4Attempt).toBe(1);
    expect(ra?.ipv4).not.toBe(rb?.ipv4);
    expect(ra?.ipv4).toBe(ipv4Candidate(h('ipv4', a, 1)).join('.'));
    expect(all.get(hex(key(-1)))?.ipv4Attempt).toBe(0);
    expect(findDuplicates(all)).toEqual([]);
  });

  test('with an injected narrow hash: a chain of collisions, and every member agrees', () => {
    // Every first choice lands in 4 addresses, later candidates spread out: many collisions.
    const narrow: CandidateHash = (purpose, k, attempt) =>
      attempt === 0 ? Uint8Array.of(0, 0, 0, (k[0] as number) & 3, 0, 0, 0, ((k[0] as number) & 3) | 1) : blake2s(Uint8Array.of(...k, attempt, purpose === 'ipv4' ? 4 : 6));
    const members = Array.from({ length: 12 }, (_, i) => key(i));
    // Each member lists the membership in its own order (here: rotated).
    const views = members.map((_, i) => assignAll([...members.slice(i), ...members.slice(0, i)], SECRET, narrow));
    for (const v of views) expect(v).toEqual(views[0] as ReturnType<typeof assignAll>);
    const all = views[0] as ReturnType<typeof assignAll>;
    expect(findDuplicates(all)).toEqual([]);
    // The first choices are taken by nobody who collided: they stay free unless exactly one member holds them.
    const firstChoiceHolders = new Map<string, number>();
    for (const k of members) {
      const first = ipv4Candidate(narrow('ipv4', k, 0)).join('.');
      firstChoiceHolders.set(first, (firstChoiceHolders.get(first) ?? 0) + 1);
    }
    for (const k of members) {
      const first = ipv4Candidate(narrow('ipv4', k, 0)).join('.');
      const got = all.get(hex(k));
      expect(got?.ipv4Attempt).toBe(firstChoiceHolders.get(first) === 1 ? 0 : 1);
    }
  });

  test('each member computes its own address the same way others compute it', () => {
    const members = Array.from({ length: 20 }, (_, i) => key(100 + i));
    const all = assignAll(members, SECRET);
    for (const k of members) {
      // A member's own view lists the others (and maybe itself); duplicates are ignored.
      const own = assignAddresses(k, [...members.filter((m) => m !== k), members[0] as Uint8Array], SECRET);
      expect(own).toEqual(all.get(hex(k)) as ReturnType<typeof assignAddresses>);
    }
  });

  test('findDuplicates reports an address held twice', () => {
    const a = { ipv4: '100.64.0.1', ipv6: 'fd00::1', ipv4Attempt: 0, ipv6Attempt: 0 };
    const b = { ...a, ipv6: 'fd00::2' };
    expect(findDuplicates(new Map([['a', a], ['b', b]]))).toEqual(['100.64.0.1']);
  });

  test('an injected hash that always collides is reported as exhausted, not looped on', () => {
    const stuck: CandidateHash = () => new Uint8Array(32).fill(1);
    expect(() => assignAddresses(key(1), [key(2)], SECRET, stuck)).toThrow(/no free ipv4 overlay address/);
  });
});
