// Warren's configuration: the typed shape and its validation.
//
// The file is TOML (README "Configuration"). Validation happens once, at the edge:
// every error names the field (`peer[1].endpoint`) and says what is expected, so a bad
// config is refused at start with one clear line.

import { networkOf, parsePrefix, parseEndpoint, type Prefix, type Endpoint } from '../dataplane/packet/addr.ts';
import { PADDING_MODES, type PaddingMode } from '../wire/padding.ts';
import { hash, publicKeyOf } from '../noise/crypto.ts';
import { lastGoodPath, parseNetworkText } from '../network/store.ts';
import { assignAddresses, OVERLAY_IPV4_BITS, OVERLAY_IPV6_BITS } from '../network/addresses.ts';
import { ConfigError, IFNAME, int, prefixes, rejectUnknown, str, strList, table } from './fields.ts';
import { parseExit, parseGateway, type ExitConfig, type GatewayConfig } from './gateway.ts';

export { ConfigError };

/**
 * A member's own addresses in the overlay (network/addresses.ts: derived from its key within the
 * network), with the overlay's prefix lengths, so every other member is on-link through the TUN.
 */
function overlayAddresses(publicKey: Uint8Array, secret: Uint8Array): Prefix[] {
  const a = assignAddresses(publicKey, [], secret);
  const v4 = parsePrefix(`${a.ipv4}/${OVERLAY_IPV4_BITS}`);
  const v6 = parsePrefix(`${a.ipv6}/${OVERLAY_IPV6_BITS}`);
  return [v4, v6].filter((p): p is Prefix => p !== null);
}

/** WireGuard's customary port; the WireGuard wire keeps it as its default. */
export const WIREGUARD_PORT = 51820;

/**
 * The native wire's default port: derived from the node's public key, so it is stable across
 * restarts without any state, and different on every appliance — a fixed default port would be
 * a fingerprint (nDPI names any flow on 51820 "WireGuard" by port alone). Range 10000–59999.
 */
export function nativeDefaultPort(publicKey: Uint8Array): number {
  const h = hash(new TextEncoder().encode('warren default port'), publicKey);
  return 10000 + (((h[0] ?? 0) << 8) | (h[1] ?? 0)) % 50000;
}


export interface PeerConfig {
  name: string;
  publicKey: Uint8Array;
  presharedKey: Uint8Array; // 32 zero bytes = none (WireGuard convention)
  endpoint: Endpoint | null;
  allowedIps: Prefix[];
  persistentKeepalive: number; // seconds, 0 = off
  /** A configured member that relays (circuits may start through it), as a discovery record would say. */
  relay?: boolean;
}

/** Protocol timers in seconds (WireGuard whitepaper §6.1); tests shorten them. */
export interface TimerConfig {
  rekeyAfterTime: number;
  rejectAfterTime: number;
  rekeyAttemptTime: number;
  rekeyTimeout: number;
  keepaliveTimeout: number;
  rekeyAfterMessages: bigint;
}

export interface Config {
  interface: {
    name: string;
    privateKey: Uint8Array;
    listenPort: number;
    addresses: Prefix[];
    mtu: number;
    wire: WireMode;
    padding: PaddingMode;
    cipher: CipherChoice;
    /** LANs this member routes for the others (site-to-site), as networks. */
    advertise: Prefix[];
  };
  network: NetworkConfig | null;
  discovery: DiscoveryConfig | null;
  control: { socket: string };
  timers: TimerConfig;
  limits: LimitsConfig;
  peers: PeerConfig[];
  /** The appliance as the LAN's router (README "Gateway and exits"); null: the tunnel only. */
  gateway: GatewayConfig | null;
  /** This appliance offers itself as an exit; null: it does not. */
  exit: ExitConfig | null;
  /** Relaying for members that cannot reach each other directly (README "Discovery"). */
  /** Relaying for members that cannot reach each other, and carrying circuits; each member's share capped (Mbit/s, 0 = none). */
  relay: { enabled: boolean; memberRateMbit: number };
  /** The web admin: `listen` "ip:port", "lan" (the gateway LAN's address, port 80: the default with a [gateway]), or null (off). */
  admin: { listen: string | null; leakTestUrl: string };
  /** What loading had to work around (a broken file replaced by its last good copy): logged at start. */
  warnings: string[];
}

export type WireMode = 'native' | 'wireguard';
export type CipherChoice = 'auto' | 'chacha20poly1305' | 'aes256gcm';
const CIPHERS: readonly CipherChoice[] = ['auto', 'chacha20poly1305', 'aes256gcm'];

export interface NetworkConfig {
  name: string;
  /** 32 bytes; every key of the native wire is derived from it (appliance/wire/keys.ts). */
  secret: Uint8Array;
  /** The network file (`warren init` / `warren join`) the name and secret came from, if any. */
  file: string | null;
  /** What overlay addresses derive from: the secret, or after rotations the network's first one. */
  addressSecret: Uint8Array;
  /** After a rotation: the secret before, still accepted until `until` (network/store.ts). */
  previous: { secret: Uint8Array; until: Date } | null;
}

/** Finding members on the BitTorrent DHT (appliance/discovery/). */
export interface DiscoveryConfig {
  /** `ip:port` DHT nodes to join through; null = the public mainline routers (production). */
  bootstrap: string[] | null;
  lookupInterval: number; // seconds
  /** Lab address ranges (CIDR) allowed besides loopback when WARREN_LAB=1. */
  labRanges: string[];
  /** Beacons on the LAN (multicast) find members on the same LAN without the DHT. */
  lan: boolean;
}

export interface LimitsConfig {
  /** Handshake messages per second above which a valid mac2 (a cookie) is required (§5.3). */
  cookieAfterHandshakesPerSecond: number;
  /** Peers the device holds (configured, discovered and admitted together). */
  maxPeers: number;
  /** Unknown devices recorded as pending approval in the network file. */
  maxPendingMembers: number;
  /** Member pairs this appliance relays for at once ([relay] enabled). */
  maxRelayedPairs: number;
  /** BEP 44 items and announce tables a DHT node that stores for others keeps (LRU). */
  dhtMaxValues: number;
  /** Onion circuits this appliance carries for others at once, as a relay or an exit. */
  maxCircuits: number;
}

export const DEFAULT_LIMITS: Omit<LimitsConfig, 'cookieAfterHandshakesPerSecond'> = {
  maxPeers: 256,
  maxPendingMembers: 64,
  maxRelayedPairs: 64,
  dhtMaxValues: 1000,
  maxCircuits: 256,
};

export const DEFAULT_TIMERS: TimerConfig = {
  rekeyAfterTime: 120,
  rejectAfterTime: 180,
  rekeyAttemptTime: 90,
  rekeyTimeout: 5,
  keepaliveTimeout: 10,
  rekeyAfterMessages: 1n << 60n,
};

export const DEFAULT_CONTROL_SOCKET = '/run/warren/warren.sock';

/** Where the leak test asks what address the internet sees (any service answering with the caller's IPv4). */
export const DEFAULT_LEAK_TEST_URL = 'https://api.ipify.org/';

export function parseAdmin(raw: unknown, gateway: boolean): { listen: string | null; leakTestUrl: string } {
  const a = table(raw ?? {}, 'admin');
  rejectUnknown(a, 'admin', ['listen', 'leak_test_url']);
  const leakTestUrl = str(a, 'leak_test_url', 'admin', DEFAULT_LEAK_TEST_URL);
  if (!/^https?:\/\/[^\s/]+\/\S*$/.test(leakTestUrl)) throw new ConfigError('admin.leak_test_url', `"${leakTestUrl}" is not an http(s) URL like https://api.ipify.org/`);
  const listen = str(a, 'listen', 'admin', gateway ? 'lan' : 'off');
  if (listen === 'off') return { listen: null, leakTestUrl };
  if (listen === 'lan') {
    if (!gateway) throw new ConfigError('admin.listen', '"lan" needs a [gateway] (its LAN address); give "ip:port" instead');
    return { listen, leakTestUrl };
  }
  const ep = parseEndpoint(listen);
  if (!ep) throw new ConfigError('admin.listen', `"${listen}" is not "ip:port", "lan" or "off"`);
  if (ep.address === '0.0.0.0' || ep.address === '::') throw new ConfigError('admin.listen', 'the admin listens on one address (the LAN\'s), never on all of them');
  return { listen, leakTestUrl };
}

function parseRelay(raw: unknown): { enabled: boolean; memberRateMbit: number } {
  const r = table(raw ?? {}, 'relay');
  rejectUnknown(r, 'relay', ['enabled', 'member_rate_mbit']);
  if (r.enabled !== undefined && typeof r.enabled !== 'boolean') throw new ConfigError('relay.enabled', 'expected true or false');
  return { enabled: r.enabled === true, memberRateMbit: int(r, 'member_rate_mbit', 'relay', 0, 0, 100_000) };
}

/** Decodes a WireGuard-style base64 key (32 bytes, 44 characters). */
export function decodeKey(text: string, field: string): Uint8Array {
  const s = text.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(s)) {
    throw new ConfigError(field, 'expected a base64 key of 32 bytes (44 characters, as `warren genkey` prints)');
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

export function encodeKey(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}


/**
 * Validates a parsed TOML document. `readFile` resolves `private_key_file`
 * (injected so the pure validation is testable).
 */
export function validateConfig(doc: unknown, readFile: (path: string) => string): Config {
  const root = table(doc, '(top level)');
  rejectUnknown(root, '', ['interface', 'network', 'discovery', 'control', 'timers', 'limits', 'peer', 'gateway', 'exit', 'relay', 'admin']);

  const ifc = table(root.interface ?? {}, 'interface');
  rejectUnknown(ifc, 'interface', ['name', 'private_key', 'private_key_file', 'listen_port', 'address', 'mtu', 'wire', 'padding', 'cipher', 'advertise']);
  const name = str(ifc, 'name', 'interface', 'warren0');
  if (!IFNAME.test(name)) throw new ConfigError('interface.name', 'expected 1–15 letters, digits, _ . or - (a Linux interface name)');

  let privateKey: Uint8Array;
  if (ifc.private_key !== undefined && ifc.private_key_file !== undefined) {
    throw new ConfigError('interface.private_key', 'give private_key or private_key_file, not both');
  }
  if (ifc.private_key_file !== undefined) {
    const path = str(ifc, 'private_key_file', 'interface');
    let text: string;
    try {
      text = readFile(path);
    } catch (e) {
      throw new ConfigError('interface.private_key_file', `cannot read ${path}: ${(e as Error).message}`);
    }
    privateKey = decodeKey(text, 'interface.private_key_file');
  } else {
    privateKey = decodeKey(str(ifc, 'private_key', 'interface'), 'interface.private_key');
  }

  const warnings: string[] = [];
  let network: NetworkConfig | null = null;
  if (root.network !== undefined) {
    const net = table(root.network, 'network');
    rejectUnknown(net, 'network', ['name', 'secret', 'secret_file', 'file']);
    const given = ['secret', 'secret_file', 'file'].filter((k) => net[k] !== undefined);
    if (given.length !== 1) {
      throw new ConfigError('network.secret', 'give exactly one of secret, secret_file or file (`warren gensecret` makes a secret; `warren init` or `warren join` a network file)');
    }
    if (net.file !== undefined) {
      const path = str(net, 'file', 'network');
      let text: string;
      try {
        text = readFile(path);
      } catch (e) {
        throw new ConfigError('network.file', `cannot read ${path}: ${(e as Error).message} (create it with \`warren init\` or \`warren join INVITE\`)`);
      }
      try {
        const parsed = parseNetworkText(text, path);
        network = { name: parsed.name, secret: parsed.secret, file: path, addressSecret: parsed.addressSecret, previous: parsed.previous };
      } catch (e) {
        // A broken network file: the last good version written beside it, if there is one.
        let prev: string | null = null;
        try {
          prev = readFile(lastGoodPath(path));
        } catch {
          throw new ConfigError('network.file', (e as Error).message);
        }
        try {
          const parsed = parseNetworkText(prev, lastGoodPath(path));
          network = { name: parsed.name, secret: parsed.secret, file: path, addressSecret: parsed.addressSecret, previous: parsed.previous };
          warnings.push(`${(e as Error).message}; using the last good copy ${lastGoodPath(path)}`);
        } catch {
          throw new ConfigError('network.file', (e as Error).message);
        }
      }
    } else {
      let secretText: string;
      if (net.secret_file !== undefined) {
        const path = str(net, 'secret_file', 'network');
        try {
          secretText = readFile(path);
        } catch (e) {
          throw new ConfigError('network.secret_file', `cannot read ${path}: ${(e as Error).message}`);
        }
      } else {
        secretText = str(net, 'secret', 'network');
      }
      const secret = decodeKey(secretText, net.secret_file !== undefined ? 'network.secret_file' : 'network.secret');
      network = { name: str(net, 'name', 'network', 'home'), secret, file: null, addressSecret: secret, previous: null };
    }
  }

  let discovery: DiscoveryConfig | null = null;
  if (root.discovery !== undefined) {
    const d = table(root.discovery, 'discovery');
    rejectUnknown(d, 'discovery', ['enabled', 'bootstrap', 'lookup_interval', 'lab_ranges', 'lan']);
    if (d.lan !== undefined && typeof d.lan !== 'boolean') throw new ConfigError('discovery.lan', 'expected true or false');
    if (d.enabled !== undefined && typeof d.enabled !== 'boolean') throw new ConfigError('discovery.enabled', 'expected true or false');
    if (d.enabled !== false) {
      if (!network) throw new ConfigError('discovery', 'discovery needs a [network] (its secret makes the rendezvous)');
      const bootstrap = d.bootstrap === undefined ? null : strList(d, 'bootstrap', 'discovery');
      bootstrap?.forEach((b, i) => {
        if (!parseEndpoint(b)) throw new ConfigError(`discovery.bootstrap[${i}]`, `"${b}" is not ip:port`);
      });
      const labRanges = strList(d, 'lab_ranges', 'discovery');
      labRanges.forEach((r, i) => {
        if (!parsePrefix(r)) throw new ConfigError(`discovery.lab_ranges[${i}]`, `"${r}" is not a CIDR range`);
      });
      discovery = {
        bootstrap,
        lookupInterval: int(d, 'lookup_interval', 'discovery', 30, 1, 3600),
        labRanges,
        lan: d.lan !== false,
      };
    }
  }

  const wire = str(ifc, 'wire', 'interface', 'native');
  if (wire !== 'native' && wire !== 'wireguard') throw new ConfigError('interface.wire', `"${wire}" is not a wire mode (native or wireguard)`);
  if (wire === 'native' && !network) {
    throw new ConfigError('network.secret', 'the native wire needs a [network] secret shared by the members (or set interface.wire = "wireguard" for stock WireGuard peers)');
  }
  const padding = str(ifc, 'padding', 'interface', 'bucket');
  if (!(PADDING_MODES as readonly string[]).includes(padding)) throw new ConfigError('interface.padding', `"${padding}" is not a padding mode (${PADDING_MODES.join(', ')})`);
  const cipher = str(ifc, 'cipher', 'interface', 'auto');
  if (!(CIPHERS as readonly string[]).includes(cipher)) throw new ConfigError('interface.cipher', `"${cipher}" is not a cipher choice (${CIPHERS.join(', ')})`);
  if (wire === 'wireguard' && cipher === 'aes256gcm') throw new ConfigError('interface.cipher', 'the WireGuard wire always uses ChaCha20-Poly1305; aes256gcm needs wire = "native"');

  const ctl = table(root.control ?? {}, 'control');
  rejectUnknown(ctl, 'control', ['socket']);

  const tm = table(root.timers ?? {}, 'timers');
  rejectUnknown(tm, 'timers', ['rekey_after_time', 'reject_after_time', 'rekey_attempt_time', 'rekey_timeout', 'keepalive_timeout', 'rekey_after_messages']);
  const timers: TimerConfig = {
    rekeyAfterTime: int(tm, 'rekey_after_time', 'timers', DEFAULT_TIMERS.rekeyAfterTime, 1, 86400),
    rejectAfterTime: int(tm, 'reject_after_time', 'timers', DEFAULT_TIMERS.rejectAfterTime, 1, 86400),
    rekeyAttemptTime: int(tm, 'rekey_attempt_time', 'timers', DEFAULT_TIMERS.rekeyAttemptTime, 1, 86400),
    rekeyTimeout: int(tm, 'rekey_timeout', 'timers', DEFAULT_TIMERS.rekeyTimeout, 1, 600),
    keepaliveTimeout: int(tm, 'keepalive_timeout', 'timers', DEFAULT_TIMERS.keepaliveTimeout, 1, 600),
    rekeyAfterMessages:
      tm.rekey_after_messages === undefined
        ? DEFAULT_TIMERS.rekeyAfterMessages
        : BigInt(int(tm, 'rekey_after_messages', 'timers', 0, 1, Number.MAX_SAFE_INTEGER)),
  };
  if (timers.rejectAfterTime <= timers.rekeyAfterTime) {
    throw new ConfigError('timers.reject_after_time', 'must be larger than timers.rekey_after_time');
  }

  const lim = table(root.limits ?? {}, 'limits');
  rejectUnknown(lim, 'limits', ['cookie_after_handshakes_per_second', 'max_peers', 'max_pending_members', 'max_relayed_pairs', 'dht_max_values', 'max_circuits']);
  const limits: LimitsConfig = {
    cookieAfterHandshakesPerSecond: int(lim, 'cookie_after_handshakes_per_second', 'limits', 128, 0, 1_000_000),
    maxPeers: int(lim, 'max_peers', 'limits', DEFAULT_LIMITS.maxPeers, 1, 4096),
    maxPendingMembers: int(lim, 'max_pending_members', 'limits', DEFAULT_LIMITS.maxPendingMembers, 0, 1024),
    maxRelayedPairs: int(lim, 'max_relayed_pairs', 'limits', DEFAULT_LIMITS.maxRelayedPairs, 0, 4096),
    dhtMaxValues: int(lim, 'dht_max_values', 'limits', DEFAULT_LIMITS.dhtMaxValues, 1, 100_000),
    maxCircuits: int(lim, 'max_circuits', 'limits', DEFAULT_LIMITS.maxCircuits, 0, 65_536),
  };

  const rawPeers = root.peer ?? [];
  if (!Array.isArray(rawPeers)) throw new ConfigError('peer', 'expected [[peer]] sections');
  const peers = rawPeers.map((raw, i): PeerConfig => {
    const f = `peer[${i}]`;
    const p = table(raw, f);
    rejectUnknown(p, f, ['name', 'public_key', 'preshared_key', 'endpoint', 'allowed_ips', 'persistent_keepalive', 'relay']);
    if (p.relay !== undefined && typeof p.relay !== 'boolean') throw new ConfigError(`${f}.relay`, 'expected true or false');
    let endpoint: Endpoint | null = null;
    if (p.endpoint !== undefined) {
      const e = str(p, 'endpoint', f);
      endpoint = parseEndpoint(e);
      if (!endpoint) throw new ConfigError(`${f}.endpoint`, `"${e}" is not host:port like 192.0.2.1:51820 or [2001:db8::1]:51820`);
    }
    return {
      name: str(p, 'name', f, `peer${i}`),
      publicKey: decodeKey(str(p, 'public_key', f), `${f}.public_key`),
      presharedKey: p.preshared_key === undefined ? new Uint8Array(32) : decodeKey(str(p, 'preshared_key', f), `${f}.preshared_key`),
      endpoint,
      allowedIps: prefixes(strList(p, 'allowed_ips', f), `${f}.allowed_ips`),
      persistentKeepalive: int(p, 'persistent_keepalive', f, 0, 0, 65535),
      ...(p.relay === true ? { relay: true } : {}),
    };
  });
  const seen = new Set<string>();
  peers.forEach((p, i) => {
    const k = encodeKey(p.publicKey);
    if (seen.has(k)) throw new ConfigError(`peer[${i}].public_key`, 'the same key is configured twice');
    seen.add(k);
  });

  return {
    interface: {
      name,
      privateKey,
      listenPort: int(ifc, 'listen_port', 'interface', wire === 'native' ? nativeDefaultPort(publicKeyOf(privateKey)) : WIREGUARD_PORT, 0, 65535),
      addresses: ifc.address === undefined && network ? overlayAddresses(publicKeyOf(privateKey), network.addressSecret) : prefixes(strList(ifc, 'address', 'interface'), 'interface.address'),
      mtu: int(ifc, 'mtu', 'interface', 1420, 1280, 9000),
      wire,
      padding: padding as PaddingMode,
      cipher: cipher as CipherChoice,
      advertise: prefixes(strList(ifc, 'advertise', 'interface'), 'interface.advertise').map((p, i) => {
        if (p.bits === 0) throw new ConfigError(`interface.advertise[${i}]`, 'a default route is not a LAN: offer an exit with [exit] instead');
        return networkOf(p);
      }),
    },
    network,
    discovery,
    control: { socket: str(ctl, 'socket', 'control', DEFAULT_CONTROL_SOCKET) },
    timers,
    limits,
    peers,
    gateway: root.gateway === undefined ? null : parseGateway(root.gateway, name),
    exit: root.exit === undefined ? null : parseExit(root.exit),
    relay: parseRelay(root.relay),
    admin: parseAdmin(root.admin, root.gateway !== undefined),
    warnings,
  };
}
