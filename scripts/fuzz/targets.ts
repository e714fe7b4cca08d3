// Fuzz targets: every parser that takes bytes or text from outside, and the web admin's routes.
// Each target has valid seed inputs and a function that must either return normally or throw the
// typed error its module documents (one with a `kind`, or a ConfigError) — never anything else,
// never hang. The admin's (admin.ts) is asynchronous: its promise must settle the same way.
//
// Inputs are seeds mutated by a seeded PRNG (mutate.ts), so any failure is reproducible from
// the printed seed and iteration.

import { NativeWire, WIREGUARD_WIRE, type DataHeader } from '../../appliance/wire/wire.ts';
import { deriveWireKeys } from '../../appliance/wire/keys.ts';
import { createInitiation, consumeInitiation, createResponse, consumeResponse } from '../../appliance/noise/handshake.ts';
import { CookieChecker, CookieGenerator } from '../../appliance/noise/cookie.ts';
import { generatePrivateKey, publicKeyOf } from '../../appliance/noise/crypto.ts';
import { tai64nNow } from '../../appliance/noise/tai64n.ts';
import { openRecord, sealRecord, decodeRecord } from '../../appliance/discovery/record.ts';
import { decodeInvite, encodeInvite } from '../../appliance/network/invite.ts';
import { parseNetworkText, formatNetwork, createNetwork } from '../../appliance/network/store.ts';
import { parseConfigText } from '../../appliance/config/load.ts';
import { encodeKey } from '../../appliance/config/schema.ts';
import { Device } from '../../appliance/device.ts';
import { ADMIN_SEEDS, ADMIN_TOKENS, AdminFuzz, encodeSeed, generateAdminInput } from './admin.ts';
import type { Rng } from './mutate.ts';

export interface Target {
  name: string;
  seeds: Uint8Array[];
  /** Tokens the mutator may splice in (text formats). */
  tokens?: Uint8Array[];
  /** Makes each input itself (a structured format) instead of mutate(seeds); seeded by `rng`. */
  generate?(rng: Rng): Uint8Array;
  /** Feeds one input; returns (or resolves) normally, or throws (rejects with) an allowed error. */
  run(input: Uint8Array): void | Promise<void>;
  /** Sets the target up before its first input (not timed). */
  start?(): void | Promise<void>;
  /** After its last input: checks what must still hold (throws if not) and cleans up. */
  finish?(): void | Promise<void>;
}

/** An error a module documents for bad input: typed, with a `kind` (ConfigError has kind 'config'). */
export function isTypedError(e: unknown): boolean {
  return e instanceof Error && typeof (e as { kind?: unknown }).kind === 'string';
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

export function buildTargets(): Target[] {
  const secret = new Uint8Array(32).fill(9);
  const keys = deriveWireKeys(secret);
  const wire = new NativeWire(keys, 'bucket');
  const aPrivate = generatePrivateKey();
  const bPrivate = generatePrivateKey();
  const a = { privateKey: aPrivate, publicKey: publicKeyOf(aPrivate) };
  const b = { privateKey: bPrivate, publicKey: publicKeyOf(bPrivate) };
  const init = createInitiation({ local: a, remoteStatic: b.publicKey, senderIndex: 7, timestamp: tai64nNow(Date.now()) });
  new CookieGenerator(b.publicKey).addMacs(init.message);
  const consumed = consumeInitiation({ local: b, message: init.message });
  if (!consumed) throw new Error('fuzz setup: the seed initiation does not verify');
  const resp = createResponse({ handshake: consumed.handshake, presharedKey: new Uint8Array(32), senderIndex: 9 });
  const checker = new CookieChecker(b.publicKey);
  const cookieReply = checker.createReply(init.message, new Uint8Array([10, 0, 0, 1, 0, 80]));
  const identity = new Uint8Array(32).fill(3);
  const recordKey = new Uint8Array(32).fill(4);
  const now = Math.floor(Date.now() / 1000);
  const sealed = sealRecord({ staticKey: b.publicKey, endpoints: [{ ip: '192.0.2.1', port: 4000, kind: 'public' }], offers: { relay: true, exit: false }, timestamp: now }, identity, recordKey);
  const config = `[interface]\nname = "w0"\nprivate_key = "${encodeKey(a.privateKey)}"\naddress = ["10.0.0.1/24"]\n[network]\nsecret = "${encodeKey(secret)}"\n[timers]\nrekey_after_time = 10\n[[peer]]\npublic_key = "${encodeKey(b.publicKey)}"\nendpoint = "192.0.2.1:4000"\nallowed_ips = ["10.0.0.2/32"]\n`;

  // A device with a live session, for the whole receive path.
  const device = new Device(parseConfigText(config), { sendMany: () => {}, tunWrite: () => true, now: () => 1000 });
  const header: DataHeader = { index: 0, counter: 0 };

  return [
    {
      name: 'native wire decoder',
      seeds: [wire.sealHandshake(init.message, 1), wire.sealHandshake(resp.message, 0), new Uint8Array(12 + 128 + 16)],
      run(input) {
        wire.readData(input, header);
        wire.openHandshake(input);
      },
    },
    {
      name: 'device receive path (both wires\' framing)',
      seeds: [wire.sealHandshake(init.message, 0), init.message, resp.message, cookieReply],
      run(input) {
        device.inbound(input.slice(), 4000, '192.0.2.1');
        WIREGUARD_WIRE.openHandshake(input);
      },
    },
    {
      name: 'handshake and cookie messages',
      seeds: [init.message, resp.message, cookieReply],
      run(input) {
        consumeInitiation({ local: b, message: input });
        consumeResponse({ handshake: init.handshake, message: input, presharedKey: new Uint8Array(32) });
        checker.checkMac1(input);
        checker.checkMac2(input, new Uint8Array([10, 0, 0, 1, 0, 80]));
        new CookieGenerator(b.publicKey).consumeReply(input);
      },
    },
    {
      name: 'DHT member record',
      seeds: [sealed],
      run(input) {
        openRecord(input, recordKey, now);
        decodeRecord(input);
      },
    },
    {
      name: 'invite',
      seeds: [bytes(encodeInvite('family', secret)), bytes(encodeInvite('Grandma’s 🏠', secret))],
      run(input) {
        decodeInvite(text(input));
      },
    },
    {
      name: 'config file',
      seeds: [bytes(config)],
      run(input) {
        parseConfigText(text(input), () => {
          throw new Error('no files in the fuzzer');
        });
      },
    },
    {
      name: 'network file',
      seeds: [bytes(formatNetwork(createNetwork('family')))],
      run(input) {
        parseNetworkText(text(input), 'fuzz.toml');
      },
    },
    adminTarget(),
  ];
}

/** The web admin's routes: mutated requests, signed in with a CSRF token or not; no 5xx, no hang. */
function adminTarget(): Target {
  const admin = new AdminFuzz();
  return {
    name: 'admin routes',
    seeds: ADMIN_SEEDS.map(encodeSeed),
    tokens: ADMIN_TOKENS.map(bytes),
    generate: generateAdminInput,
    run: (input) => admin.run(input),
    start: () => admin.start(),
    async finish() {
      try {
        await admin.stillAnswers();
      } finally {
        await admin.stop();
      }
    },
  };
}
