// [limits]: each cap configurable, checked at its bounds when the config loads, and held at its
// limit (the relay's and the DHT's are in relay.test.ts and discovery/dht-limits.test.ts).

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Device } from '../../appliance/device.ts';
import { parseConfigText } from '../../appliance/config/load.ts';
import { DEFAULT_LIMITS, encodeKey, type PeerConfig } from '../../appliance/config/schema.ts';
import { parsePrefix } from '../../appliance/dataplane/packet/addr.ts';
import { generatePrivateKey, publicKeyOf } from '../../appliance/noise/crypto.ts';
import { Membership } from '../../appliance/network/membership.ts';
import { createNetwork, loadNetwork, saveNetwork } from '../../appliance/network/store.ts';

const key = () => crypto.getRandomValues(new Uint8Array(32));
const base = (limits: string) => `[interface]\nname = "t0"\nprivate_key = "${encodeKey(generatePrivateKey())}"\naddress = ["10.99.0.1/24"]\nwire = "wireguard"\n${limits}`;

describe('[limits] in the config', () => {
  test('defaults', () => {
    expect(parseConfigText(base('')).limits).toEqual({ cookieAfterHandshakesPerSecond: 128, ...DEFAULT_LIMITS });
  });

  test('each limit is read, and out-of-range or unknown values are refused by name', () => {
    const l = parseConfigText(base('[limits]\nmax_peers = 3\nmax_pending_members = 0\nmax_relayed_pairs = 5\ndht_max_values = 10\nmax_circuits = 7\n')).limits;
    expect(l).toEqual({ cookieAfterHandshakesPerSecond: 128, maxPeers: 3, maxPendingMembers: 0, maxRelayedPairs: 5, dhtMaxValues: 10, maxCircuits: 7 });
    expect(() => parseConfigText(base('[limits]\nmax_peers = 0\n'))).toThrow(/limits\.max_peers/);
    expect(() => parseConfigText(base('[limits]\nmax_peers = 5000\n'))).toThrow(/limits\.max_peers/);
    expect(() => parseConfigText(base('[limits]\nmax_relayed_pairs = -1\n'))).toThrow(/limits\.max_relayed_pairs/);
    expect(() => parseConfigText(base('[limits]\ndht_max_values = 0\n'))).toThrow(/limits\.dht_max_values/);
    expect(() => parseConfigText(base('[limits]\nmax_peer = 3\n'))).toThrow(/max_peer/);
  });
});

describe('max_peers', () => {
  const peer = (i: number): PeerConfig => ({
    name: `p${i}`, publicKey: publicKeyOf(generatePrivateKey()), presharedKey: new Uint8Array(32), endpoint: null,
    allowedIps: [parsePrefix(`10.99.0.${10 + i}/32`)!], persistentKeepalive: 0,
  });

  test('a device at its limit adds no peer (counted, logged); a removed peer makes room', () => {
    const lines: string[] = [];
    const dev = new Device(parseConfigText(base('[limits]\nmax_peers = 2\n')), {
      sendMany: () => {}, tunWrite: () => true, now: () => 1000, log: (l) => lines.push(l),
    });
    const a = dev.addPeer(peer(1));
    expect(a).not.toBeNull();
    expect(dev.addPeer(peer(2))).not.toBeNull();
    expect(dev.addPeer(peer(3))).toBeNull();
    expect(dev.peers).toHaveLength(2);
    expect(dev.counters.peersRefused).toBe(1);
    expect(lines.some((l) => l.includes('max_peers'))).toBe(true);
    dev.removePeer(a!);
    expect(dev.addPeer(peer(4))?.name).toBe('p4');
    expect(dev.peers).toHaveLength(2);
  });
});

describe('max_pending_members', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'warren-limits-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('at most that many unknown devices are recorded as pending; 0 records none', () => {
    for (const cap of [3, 0]) {
      const file = join(dir, `network-${cap}.toml`);
      const net = createNetwork('home');
      saveNetwork(file, net);
      const m = new Membership({ name: 'home', secret: net.secret, file, addressSecret: net.secret, previous: null }, () => {}, undefined, cap);
      for (let i = 0; i < cap; i++) expect(m.standing(key())).toBe('pending');
      expect(m.standing(key())).toBe('unlisted');
      expect(loadNetwork(file).pending).toHaveLength(cap);
    }
  });
});
