import { describe, expect, test } from 'bun:test';
import { parseConfigText } from '../../../appliance/config/load.ts';
import { ConfigError, encodeKey } from '../../../appliance/config/schema.ts';
import { formatPrefix, formatEndpoint } from '../../../appliance/dataplane/packet/addr.ts';

const KEY = encodeKey(new Uint8Array(32).fill(7));
const PEER = encodeKey(new Uint8Array(32).fill(9));
const SECRET = encodeKey(new Uint8Array(32).fill(5));
/** The smallest valid interface section on the WireGuard wire (which needs no network secret). */
const BASE = `[interface]\nprivate_key = "${KEY}"\nwire = "wireguard"\n`;

const full = `
[interface]
name = "warren0"
private_key = "${KEY}"
listen_port = 51821
address = ["10.99.0.1/24", "fd99::1/64"]
mtu = 1400
padding = "mtu"
cipher = "chacha20poly1305"
[network]
name = "family"
secret = "${SECRET}"
[control]
socket = "/run/w.sock"
[timers]
rekey_after_time = 10
reject_after_time = 20
[[peer]]
name = "grandma"
public_key = "${PEER}"
endpoint = "192.0.2.7:51820"
allowed_ips = ["10.99.0.2/32", "fd99::2/128"]
persistent_keepalive = 25
`;

function error(text: string, readFile?: (p: string) => string): ConfigError {
  try {
    parseConfigText(text, readFile);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('config was accepted');
}

describe('config', () => {
  test('a full config parses into typed values', () => {
    const c = parseConfigText(full);
    expect(c.interface.name).toBe('warren0');
    expect(c.interface.listenPort).toBe(51821);
    expect(c.interface.mtu).toBe(1400);
    expect(c.interface.wire).toBe('native');
    expect(c.interface.padding).toBe('mtu');
    expect(c.interface.cipher).toBe('chacha20poly1305');
    expect(c.network?.name).toBe('family');
    expect(encodeKey(c.network!.secret)).toBe(SECRET);
    expect(c.interface.addresses.map(formatPrefix)).toEqual(['10.99.0.1/24', 'fd99::1/64']);
    expect(c.control.socket).toBe('/run/w.sock');
    expect(c.timers.rekeyAfterTime).toBe(10);
    expect(c.timers.rejectAfterTime).toBe(20);
    expect(c.timers.keepaliveTimeout).toBe(10);
    expect(c.peers).toHaveLength(1);
    const p = c.peers[0];
    expect(p?.name).toBe('grandma');
    expect(p?.endpoint && formatEndpoint(p.endpoint)).toBe('192.0.2.7:51820');
    expect(p?.persistentKeepalive).toBe(25);
    expect(p?.presharedKey).toEqual(new Uint8Array(32));
  });

  test('private_key_file is read through the injected reader', () => {
    const c = parseConfigText(`[interface]\nprivate_key_file = "/k"\n[network]\nsecret_file = "/s"\n`, (p) => (p === '/k' ? `${KEY}\n` : p === '/s' ? SECRET : ''));
    expect(encodeKey(c.network!.secret)).toBe(SECRET);
    expect(encodeKey(c.interface.privateKey)).toBe(KEY);
  });

  test('defaults fill in what is left out', () => {
    const c = parseConfigText(`[interface]\nprivate_key = "${KEY}"\n[network]\nsecret = "${SECRET}"\n`);
    expect(c.interface.wire).toBe('native');
    // Not WireGuard's 51820: derived from the key, stable, different per appliance.
    expect(c.interface.listenPort).not.toBe(51820);
    expect(c.interface.listenPort).toBeGreaterThanOrEqual(10000);
    expect(parseConfigText(`[interface]\nprivate_key = "${KEY}"\n[network]\nsecret = "${SECRET}"\n`).interface.listenPort).toBe(c.interface.listenPort);
    expect(parseConfigText(`[interface]\nprivate_key = "${PEER}"\n[network]\nsecret = "${SECRET}"\n`).interface.listenPort).not.toBe(c.interface.listenPort);
    expect(parseConfigText(BASE).interface.listenPort).toBe(51820);
    expect(c.interface.padding).toBe('bucket');
    expect(c.interface.cipher).toBe('auto');
    expect(c.network?.name).toBe('home');
    expect(c.interface.name).toBe('warren0');
    expect(c.interface.mtu).toBe(1420);
    expect(c.peers).toEqual([]);
  });
});

describe('config errors name the field and the reason', () => {
  const cases: [string, string, RegExp][] = [
    ['no key', `[interface]\nname = "x"\n`, /interface\.private_key: is required/],
    ['bad key', `[interface]\nprivate_key = "abc"\n`, /interface\.private_key: expected a base64 key/],
    ['long name', `${BASE}name = "abcdefghijklmnop"\n`, /interface\.name/],
    ['port range', `${BASE}listen_port = 70000\n`, /interface\.listen_port: expected a whole number from 0 to 65535/],
    ['address', `${BASE}address = ["10.0.0.300/24"]\n`, /interface\.address\[0\]/],
    ['unknown', `${BASE}listen = 1\n`, /interface\.listen: unknown setting/],
    ['wire', `[interface]\nprivate_key = "${KEY}"\nwire = "carrier-pigeon"\n`, /interface\.wire/],
    ['endpoint', `${BASE}[[peer]]\npublic_key = "${PEER}"\nendpoint = "host"\n`, /peer\[0\]\.endpoint/],
    ['peer key', `${BASE}[[peer]]\nallowed_ips = []\n`, /peer\[0\]\.public_key: is required/],
    ['duplicate peer', `${BASE}[[peer]]\npublic_key = "${PEER}"\n[[peer]]\npublic_key = "${PEER}"\n`, /peer\[1\]\.public_key: the same key/],
    ['timers order', `${BASE}[timers]\nrekey_after_time = 200\n`, /timers\.reject_after_time/],
    ['native needs a secret', `[interface]\nprivate_key = "${KEY}"\n`, /network\.secret: the native wire needs a \[network\] secret/],
    ['secret and file', `[interface]\nprivate_key = "${KEY}"\n[network]\nsecret = "${SECRET}"\nsecret_file = "/s"\n`, /network\.secret: give exactly one/],
    ['bad secret', `[interface]\nprivate_key = "${KEY}"\n[network]\nsecret = "short"\n`, /network\.secret: expected a base64 key/],
    ['padding', `${BASE}padding = "lots"\n`, /interface\.padding: "lots" is not a padding mode/],
    ['cipher', `${BASE}cipher = "rot13"\n`, /interface\.cipher/],
    ['aes on the wireguard wire', `${BASE}cipher = "aes256gcm"\n`, /interface\.cipher: the WireGuard wire always uses ChaCha20-Poly1305/],
    ['toml syntax', `[interface\n`, /line 1/],
    ['key file missing', `[interface]\nprivate_key_file = "/nope"\n`, /interface\.private_key_file: cannot read \/nope/],
  ];
  for (const [name, text, re] of cases) {
    test(name, () => {
      const e = error(text, (p) => {
        throw new Error(`ENOENT ${p}`);
      });
      expect(e.message).toMatch(re);
    });
  }
});
