// The web admin as a fuzz target: mutated requests (method and path with its query string, the
// request's credentials, and the form body) go into the real Elysia app (webui/app.ts buildApp)
// in-process, through `app.handle(new Request(…))`: the same plugins (host check, sign-in gate,
// CSRF, login rate limit), schemas and handlers as on the LAN, without a socket. Behind it is the
// appliance's own AdminApi (appliance/admin/daemon-api.ts) over a temporary data directory with
// the daemon's seams faked, as test/unit/admin/fixtures.ts does, or webui/fake-api.ts (whose
// sample data carry hostile names).
//
// The property: no answer is a 5xx (a 5xx is the admin's "something threw": a crash, reported with
// the route, the input and the logged stack), every answer comes within the runner's hang limit,
// and the admin still answers a signed-in page and a sign-in when the run ends.
//
// One input is text in three parts, each of which the mutator may break:
//
//   POST /devices/02:00:00:00:00:01          method and path (with query string)
//   session csrf hx                          flags: credentials, backend, state, content type
//   policy=direct&exit=best                  the body, sent as it is (bytes), `{csrf}` filled in
//
// Flags: `session` sends the signed-in session's cookie, `anon` an anonymous one's (the login and
// first-run forms'); `csrf` sends that session's token as X-CSRF-Token (`{csrf}` in the path or
// body is replaced by it as well); `hx` marks an htmx request; `origin` adds a cross-site Origin;
// `json`, `multipart`, `text` set the content type (default: a URL-encoded form); `fake` answers
// with the fake API instead of the appliance's; `fresh` is an appliance with no network yet;
// `nopassword` an admin with no password yet (first run). Without `session`/`anon`/`csrf` the
// input meets the sign-in gate and the CSRF check, which must refuse it cleanly.
//
// What is not the production one: the password hash is argon2id with tiny costs, kept in memory
// (the real store's ~64 MB, ~0.3 s hash would make every password form a "hang" and a million
// inputs take days; webui/admin-store.ts has its own tests), and the clock jumps past the login
// rate limiter's window whenever it would refuse, so password forms keep reaching their handler.
// Every RESET_EVERY inputs the member lists, the settings and the fake's data go back to their
// start: approvals use up the pending members, and the settings keep a policy for every MAC
// address ever posted (there is no cap), which would otherwise grow for the whole run.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonAdminApi, type DaemonStatus } from '../../appliance/admin/daemon-api.ts';
import { LEASE_FILE } from '../../appliance/admin/lan-devices.ts';
import { LogRing } from '../../appliance/admin/log-ring.ts';
import { applySettings, SETTINGS_FILE } from '../../appliance/admin/settings.ts';
import { parseConfigText } from '../../appliance/config/load.ts';
import type { Config } from '../../appliance/config/schema.ts';
import { publicKeyOf } from '../../appliance/noise/crypto.ts';
import { encodeInvite } from '../../appliance/network/invite.ts';
import { initNetwork, networkFilePath } from '../../appliance/network/setup.ts';
import { admit, approve, formatNetwork, PRIVATE_KEY_FILE, revoke, type Network } from '../../appliance/network/store.ts';
import { AdminStore } from '../../webui/admin-store.ts';
import { buildApp } from '../../webui/app.ts';
import type { AdminApi } from '../../webui/api.ts';
import type { AdminDeps } from '../../webui/deps.ts';
import { FakeAdminApi, HOSTILE_NAME } from '../../webui/fake-api.ts';
import { DEFAULT_LIMITS, FailureLimiter, clientKey } from '../../webui/plugins/rate-limit.ts';
import { DEFAULT_SESSION_LIMITS, SESSION_COOKIE, SessionStore, type Session } from '../../webui/sessions.ts';
import { DEFAULT_SAMPLER, ThroughputSampler } from '../../webui/throughput.ts';
import { mutate, type Rng } from './mutate.ts';

export const FUZZ_PASSWORD = 'correct horse battery';
const HOST = '127.0.0.1';
const BOUNDARY = 'WarrenFuzzBoundary';
/** Argon2id at its smallest costs (8 KiB, one pass): the same code path, microseconds per check. */
const CHEAP_ARGON2 = { algorithm: 'argon2id', memoryCost: 8, timeCost: 1 } as const;
/** Stateful pieces (member lists, settings, the fake's data) go back to their start this often. */
const RESET_EVERY = 500;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const FLAG_WORDS = ['session', 'anon', 'csrf', 'hx', 'origin', 'json', 'multipart', 'text', 'fake', 'fresh', 'nopassword'] as const;
type Flag = (typeof FLAG_WORDS)[number];

/** A WireGuard-style key: 32 bytes of `n`, base64. */
const key = (n: number): string => Buffer.alloc(32, n).toString('base64');
/** A URL-encoded form as a browser sends it; the `{csrf}` placeholder is left as it is. */
const form = (fields: Record<string, string>): string =>
  Object.entries(fields)
    .map(([k, v]) => `${k}=${v === '{csrf}' ? v : new URLSearchParams({ v }).toString().slice(2)}`)
    .join('&');
const multipart = (fields: Record<string, string>): string =>
  `${Object.entries(fields).map(([k, v]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('')}--${BOUNDARY}--\r\n`;

/** The node's own private key in the fuzzed data directory: fixed, so a seed can name its public key. */
const OWN_PRIVATE = new Uint8Array(32).fill(9);
const OWN_KEY = Buffer.from(publicKeyOf(OWN_PRIVATE)).toString('base64');
const INVITE = encodeInvite('family', new Uint8Array(32).fill(11));

/** One valid request, and the status it gets when it is not mutated (checked by the unit test). */
export interface AdminSeed {
  method: string;
  path: string;
  flags: string;
  body?: string;
  expect: number;
}

const SIGNED = 'session csrf hx';
const PASSWORD_FIELDS = { current: FUZZ_PASSWORD, password: 'another good password', confirm: 'another good password' };

export const ADMIN_SEEDS: readonly AdminSeed[] = [
  // Sign-in, sign-out and the first-run password (public forms, an anonymous session's token).
  { method: 'GET', path: '/login', flags: '', expect: 200 },
  { method: 'POST', path: '/login', flags: 'anon', body: form({ _csrf: '{csrf}', password: FUZZ_PASSWORD }), expect: 303 },
  { method: 'POST', path: '/login', flags: 'anon', body: form({ _csrf: '{csrf}', password: 'not the password' }), expect: 401 },
  { method: 'POST', path: '/login', flags: 'anon csrf json', body: JSON.stringify({ password: FUZZ_PASSWORD }), expect: 303 },
  { method: 'POST', path: '/login', flags: 'anon multipart', body: multipart({ _csrf: '{csrf}', password: FUZZ_PASSWORD }), expect: 303 },
  { method: 'POST', path: '/login', flags: 'anon fake', body: form({ _csrf: '{csrf}', password: 'wrong again' }), expect: 401 },
  { method: 'POST', path: '/logout', flags: 'session', body: form({ _csrf: '{csrf}' }), expect: 303 },
  { method: 'GET', path: '/setup', flags: 'nopassword', expect: 200 },
  { method: 'POST', path: '/setup', flags: 'nopassword anon', body: form({ _csrf: '{csrf}', password: FUZZ_PASSWORD, confirm: FUZZ_PASSWORD }), expect: 303 },
  { method: 'POST', path: '/setup', flags: 'nopassword anon', body: form({ _csrf: '{csrf}', password: 'short', confirm: 'short' }), expect: 400 },
  { method: 'POST', path: '/setup', flags: 'nopassword anon', body: form({ _csrf: '{csrf}', password: 'Grandma’s 🏠 password', confirm: 'Grandma’s 🏠 passwort' }), expect: 400 },
  { method: 'POST', path: '/setup', flags: 'anon', body: form({ _csrf: '{csrf}', password: FUZZ_PASSWORD, confirm: FUZZ_PASSWORD }), expect: 403 },
  // The wizard's second step: create or join (by invite) a network.
  { method: 'GET', path: '/setup/network', flags: 'fresh session', expect: 200 },
  { method: 'POST', path: '/setup/create', flags: `fresh ${SIGNED}`, body: form({ name: 'home' }), expect: 303 },
  { method: 'POST', path: '/setup/create', flags: `fresh ${SIGNED}`, body: form({ name: 'Grandma’s 🏠' }), expect: 303 },
  { method: 'POST', path: '/setup/create', flags: `fresh ${SIGNED}`, body: form({ name: 'a network name that is far too long' }), expect: 400 },
  { method: 'POST', path: '/setup/create', flags: SIGNED, body: form({ name: 'second' }), expect: 409 },
  { method: 'POST', path: '/setup/join', flags: `fresh ${SIGNED}`, body: form({ invite: INVITE }), expect: 303 },
  { method: 'POST', path: '/setup/join', flags: `fresh ${SIGNED}`, body: form({ invite: `  ${INVITE.toUpperCase().replace(/(.{8})/g, '$1 ')}\n` }), expect: 303 },
  { method: 'POST', path: '/setup/join', flags: `fresh ${SIGNED}`, body: form({ invite: 'warren1:aaaa' }), expect: 400 },
  { method: 'POST', path: '/setup/join', flags: `fake fresh ${SIGNED}`, body: form({ invite: INVITE }), expect: 303 },
  // Members.
  { method: 'GET', path: '/network', flags: 'session', expect: 200 },
  { method: 'GET', path: '/network/invite', flags: 'session hx', expect: 200 },
  { method: 'GET', path: '/network/invite/hide', flags: 'session hx', expect: 200 },
  { method: 'POST', path: '/network/approve', flags: SIGNED, body: form({ key: key(5) }), expect: 200 },
  { method: 'POST', path: '/network/approve', flags: SIGNED, body: form({ key: key(7) }), expect: 200 },
  { method: 'POST', path: '/network/deny', flags: SIGNED, body: form({ key: key(6) }), expect: 200 },
  { method: 'POST', path: '/network/revoke', flags: SIGNED, body: form({ key: key(3) }), expect: 200 },
  { method: 'POST', path: '/network/revoke', flags: SIGNED, body: form({ key: OWN_KEY }), expect: 200 },
  { method: 'POST', path: '/network/approve', flags: `fake ${SIGNED}`, body: form({ key: key(5) }), expect: 200 },
  // LAN devices.
  { method: 'GET', path: '/devices', flags: 'session', expect: 200 },
  { method: 'POST', path: '/devices/02:00:00:00:00:01', flags: SIGNED, body: form({ policy: 'direct', exit: 'best' }), expect: 200 },
  { method: 'POST', path: '/devices/02:00:00:00:00:03', flags: SIGNED, body: form({ policy: 'overlay', exit: key(2) }), expect: 200 },
  { method: 'POST', path: '/devices/02:00:00:00:00:2A', flags: SIGNED, body: form({ policy: 'block' }), expect: 200 },
  { method: 'POST', path: '/devices/02:00:00:00:00:04', flags: `fake ${SIGNED}`, body: form({ policy: 'overlay', exit: key(2) }), expect: 200 },
  // Privacy, password, exit offer.
  { method: 'GET', path: '/privacy', flags: 'session', expect: 200 },
  { method: 'POST', path: '/privacy', flags: SIGNED, body: form({ hops: '2', exit: 'best', killSwitch: 'always', dns: 'off', padding: 'mtu' }), expect: 200 },
  { method: 'POST', path: '/privacy', flags: SIGNED, body: form({ hops: '3', exit: key(2), killSwitch: 'on', dns: 'on', padding: 'off' }), expect: 200 },
  { method: 'POST', path: '/privacy', flags: `fake ${SIGNED}`, body: form({ hops: '1', exit: key(3), killSwitch: 'on', dns: 'on', padding: 'bucket' }), expect: 200 },
  { method: 'GET', path: '/settings?changed=password', flags: 'session', expect: 200 },
  { method: 'POST', path: '/settings/password', flags: SIGNED, body: form(PASSWORD_FIELDS), expect: 200 },
  { method: 'POST', path: '/settings/password', flags: SIGNED, body: form({ ...PASSWORD_FIELDS, current: 'not the password' }), expect: 200 },
  { method: 'POST', path: '/settings/password', flags: SIGNED, body: form({ ...PASSWORD_FIELDS, confirm: 'another' }), expect: 200 },
  { method: 'POST', path: '/settings/exit-offer', flags: SIGNED, body: form({ enabled: 'on', acceptRisk: 'on' }), expect: 200 },
  { method: 'POST', path: '/settings/exit-offer', flags: SIGNED, body: form({ enabled: 'on' }), expect: 200 },
  { method: 'POST', path: '/settings/exit-offer', flags: SIGNED, body: form({ _csrf: '{csrf}' }), expect: 200 },
  // Diagnostics and the read-only pages.
  { method: 'GET', path: '/diagnostics', flags: 'session', expect: 200 },
  { method: 'GET', path: '/diagnostics/log?lines=50', flags: 'session hx', expect: 200 },
  { method: 'GET', path: '/diagnostics/log?lines=1000', flags: 'fake session hx', expect: 200 },
  { method: 'GET', path: '/diagnostics/support-bundle', flags: 'session', expect: 200 },
  { method: 'GET', path: '/', flags: 'session', expect: 200 },
  { method: 'GET', path: '/', flags: 'fake session', expect: 200 },
  { method: 'GET', path: '/peers', flags: 'session', expect: 200 },
  { method: 'GET', path: '/peers/table', flags: 'session hx', expect: 200 },
  { method: 'GET', path: '/events', flags: 'session', expect: 200 },
  { method: 'GET', path: '/static/app.css', flags: '', expect: 200 },
  // Refused at the edge: no session, no token, another site.
  { method: 'POST', path: '/privacy', flags: 'csrf hx', body: form({ hops: '2', exit: 'best', killSwitch: 'on', dns: 'on', padding: 'mtu' }), expect: 401 },
  { method: 'POST', path: '/network/approve', flags: 'session hx', body: form({ key: key(5) }), expect: 403 },
  { method: 'POST', path: '/settings/exit-offer', flags: `${SIGNED} origin`, body: form({ enabled: 'on', acceptRisk: 'on' }), expect: 403 },
  { method: 'GET', path: '/devices', flags: '', expect: 303 },
];

/** Form and query pieces the mutator splices in (a dictionary, as libFuzzer's -dict). */
export const ADMIN_TOKENS: readonly string[] = [
  '&', '=', '+', '%', '%00', '%0a', '%0d%0a', '%20', '%22', '%25', '%26', '%2f', '%3d', '%c3%28', '%e2%80%99', '%f0%9f%8f%a0', '%ff', '%zz',
  '_csrf={csrf}&', 'password=', 'confirm=', 'current=', 'name=', 'invite=', 'key=', 'policy=', 'exit=', 'hops=', 'killSwitch=', 'dns=', 'padding=',
  'enabled=on&', 'acceptRisk=on&', 'lines=', 'changed=password', '__proto__=', '__proto__[x]=', 'constructor=', 'toString=', 'hasOwnProperty=',
  'best', 'overlay', 'direct', 'block', 'always', 'on', 'off', 'bucket', 'mtu', '0', '-1', '1e3', '1.5', 'NaN', 'Infinity', '0x10', '1001',
  '02:00:00:00:00:01', key(2), OWN_KEY, INVITE, 'warren1:', '<script>', '\u0000', '\n', '\r\n', '"', '{', '}', '[', ']', 'null', 'true', '[]', '{}',
  '?', '/', '//', '/..', '/%2e%2e', '/static/', '/setup/', '/network/', '/devices/', '/settings/', '/diagnostics/', '#',
  ...FLAG_WORDS.map((w) => ` ${w}`),
];

const encoder = new TextEncoder();
const SEED_BYTES = new Map<AdminSeed, { path: Uint8Array; body: Uint8Array }>();
const TOKEN_BYTES = ADMIN_TOKENS.map((t) => encoder.encode(t));
const ALL_SEEDS = ADMIN_SEEDS.map((s) => encodeSeed(s));
const QUERY_SEEDS = ['lines=50', 'lines=1000', 'changed=password', 'lines=1&lines=2', 'x=1'].map((q) => encoder.encode(q));
for (const s of ADMIN_SEEDS) SEED_BYTES.set(s, { path: encoder.encode(s.path), body: encoder.encode(s.body ?? '') });

export function encodeSeed(s: AdminSeed): Uint8Array {
  return encoder.encode(`${s.method} ${s.path}\n${s.flags}\n${s.body ?? ''}`);
}

function join3(method: string, path: Uint8Array, flags: string, body: Uint8Array): Uint8Array {
  return new Uint8Array([...encoder.encode(`${method} `), ...path, 0x0a, ...encoder.encode(flags), 0x0a, ...body]);
}

/**
 * One input: a seed with, mostly, only its body (a GET's query string) mutated — so most inputs
 * keep their route and credentials and reach validation and the handler — and otherwise its path,
 * a flag turned on or off, or the whole text mutated (structure broken: the gate's and router's
 * turn). Bodies are mutated together with the other seeds' bodies for the same path, for splicing.
 */
export function generateAdminInput(rng: Rng): Uint8Array {
  const seed = ADMIN_SEEDS[rng.below(ADMIN_SEEDS.length)]!;
  const own = SEED_BYTES.get(seed)!;
  const sameRoute = ADMIN_SEEDS.filter((s) => s.path === seed.path).map((s) => SEED_BYTES.get(s)!.body);
  let { path, body } = own;
  let flags = seed.flags;
  const toggle = (): void => {
    const word = FLAG_WORDS[rng.below(FLAG_WORDS.length)]!;
    const words = new Set(flags.split(' ').filter(Boolean));
    if (!words.delete(word)) words.add(word);
    flags = [...words].join(' ');
  };
  const choice = rng.below(10);
  if (choice < 6) {
    if (seed.body === undefined) {
      // A GET's input is its query string: the route stays, the query is mutated (or made up).
      const [base = '/', query = ''] = seed.path.split('?');
      const q = mutate([encoder.encode(query), ...QUERY_SEEDS], rng, TOKEN_BYTES);
      path = new Uint8Array([...encoder.encode(base), ...(q.length ? [0x3f, ...q] : [])]);
    } else body = mutate([own.body, ...sameRoute], rng, TOKEN_BYTES);
  } else if (choice === 6) path = mutate([own.path], rng, TOKEN_BYTES);
  else if (choice === 7) toggle();
  else if (choice === 8) {
    path = mutate([own.path], rng, TOKEN_BYTES);
    body = mutate([own.body, ...sameRoute], rng, TOKEN_BYTES);
    toggle();
  } else return mutate(ALL_SEEDS, rng, TOKEN_BYTES);
  return join3(seed.method, path, flags, body);
}

/** An input taken apart: method, path, flags and body bytes. */
export interface AdminInput {
  method: string;
  path: string;
  flags: Set<Flag>;
  body: Uint8Array;
}

const decoder = new TextDecoder();

export function parseInput(input: Uint8Array): AdminInput {
  const nl1 = input.indexOf(0x0a);
  const line = decoder.decode(nl1 < 0 ? input : input.subarray(0, nl1));
  const rest = nl1 < 0 ? new Uint8Array(0) : input.subarray(nl1 + 1);
  const nl2 = rest.indexOf(0x0a);
  const flagText = decoder.decode(nl2 < 0 ? rest : rest.subarray(0, nl2));
  const body = nl2 < 0 ? new Uint8Array(0) : rest.subarray(nl2 + 1);
  const sp = line.indexOf(' ');
  const word = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
  const method = METHODS.has(word) ? word : 'POST';
  const raw = sp < 0 ? (METHODS.has(word) ? '/' : line) : line.slice(sp + 1);
  const path = raw.startsWith('/') ? raw : `/${raw}`;
  const words = new Set(flagText.split(/\s+/));
  const flags = new Set(FLAG_WORDS.filter((w) => words.has(w)));
  return { method, path, flags, body };
}

/** `{csrf}` in bytes replaced by `token`. */
function fill(bytes: Uint8Array, token: string): Uint8Array {
  const text = Buffer.from(bytes).toString('latin1');
  return text.includes('{csrf}') ? new Uint8Array(Buffer.from(text.replaceAll('{csrf}', token), 'latin1')) : bytes;
}

function describe(req: AdminInput): string {
  const body = Buffer.from(req.body).toString('utf8');
  return `${req.method} ${req.path.slice(0, 200)} [${[...req.flags].join(' ')}] body ${JSON.stringify(body.length > 300 ? `${body.slice(0, 300)}…` : body)}`;
}

/** The admin password store with a cheap hash, in memory (see the top of this file). */
class FuzzAdminStore extends AdminStore {
  hash: string | null = null;
  override hasPassword(): boolean {
    return this.hash !== null;
  }
  override async setPassword(password: string): Promise<void> {
    this.hash = await Bun.password.hash(password, CHEAP_ARGON2);
  }
  override async verify(password: string): Promise<boolean> {
    return this.hash !== null && Bun.password.verify(password, this.hash, 'argon2id');
  }
}

const CONFIG = `[interface]\nprivate_key = "${key(9)}"\nwire = "wireguard"\naddress = ["100.80.0.1/10"]
[gateway]\nlan = "br-lan"\nwan = "eth0"\nkill_switch = "always"
[[gateway.device]]\nname = "laptop"\nmac = "02:00:00:00:00:02"\npolicy = "direct"\n`;

const NEIGH = JSON.stringify([
  { dst: '192.168.8.10', lladdr: '02:00:00:00:00:01', state: ['REACHABLE'] },
  { dst: '192.168.8.11', lladdr: '02:00:00:00:00:02', state: ['STALE'] },
  { dst: '192.168.8.12', lladdr: '02:00:00:00:00:03', state: ['DELAY'] },
  { dst: '192.168.8.99', state: ['FAILED'] },
]);
const LEASES = `1736942400 02:00:00:00:00:01 192.168.8.10 living-room-tv *\n1736942400 02:00:00:00:00:03 192.168.8.12 ${HOSTILE_NAME} *\n`;

const STATUS: DaemonStatus = {
  interface: 'warren0',
  publicKey: OWN_KEY,
  uptimeSeconds: 11_000,
  peers: [
    { name: 'grandma', publicKey: key(2), endpoint: '198.51.100.7:40123', lastHandshakeSecondsAgo: 42, rxBytes: 812_345_678, txBytes: 98_765_432, rttMs: 23, lossPercent: 0 },
    { name: HOSTILE_NAME, publicKey: key(3), endpoint: null, lastHandshakeSecondsAgo: null, rxBytes: 0, txBytes: 0 },
  ],
  gateway: { exit: { name: 'grandma', publicKey: key(2) }, dns: true, killSwitch: 'always' },
};

/** The appliance's side: DaemonAdminApi over a data directory, every daemon seam faked. */
class Appliance {
  readonly dataDir: string;
  private readonly runDir: string;
  readonly ring = new LogRing();
  api!: DaemonAdminApi;
  private pristine = '';

  constructor(
    root: string,
    name: string,
    private readonly withNetwork: boolean,
    private readonly config: Config,
    private readonly now: () => number,
  ) {
    this.dataDir = join(root, name, 'data');
    this.runDir = join(root, name, 'run');
    mkdirSync(this.runDir, { recursive: true });
    writeFileSync(join(this.runDir, LEASE_FILE), LEASES);
  }

  /** Files and API back to the start: the data directory, with or without a network and members. */
  reset(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.dataDir, PRIVATE_KEY_FILE), `${Buffer.from(OWN_PRIVATE).toString('base64')}\n`, { mode: 0o600 });
    if (this.withNetwork) {
      if (!this.pristine) {
        const at = new Date(this.now());
        let net: Network = initNetwork(this.dataDir, 'home', { now: at, selfName: 'this-appliance' }).network;
        for (const [n, name] of [[2, 'grandma'], [3, HOSTILE_NAME], [5, 'new-phone'], [6, `"><img src=x onerror=alert(2)>`], [7, 'old-tablet']] as const) {
          net = admit(net, key(n), name, at).network;
        }
        net = revoke(approve(approve(net, key(2), at), key(3), at), key(7), at);
        this.pristine = formatNetwork(net);
      }
      writeFileSync(networkFilePath(this.dataDir), this.pristine, { mode: 0o600 });
    }
    this.api = new DaemonAdminApi({
      dataDir: this.dataDir,
      settingsPath: join(this.dataDir, SETTINGS_FILE),
      runDir: this.runDir,
      lan: 'br-lan',
      run: (argv) => (argv.join(' ') === 'ip -json neigh show dev br-lan' ? { code: 0, stdout: NEIGH, stderr: '' } : { code: 1, stdout: '', stderr: 'unexpected command' }),
      status: () => (existsSync(networkFilePath(this.dataDir)) ? STATUS : null),
      logs: () => this.ring.lines(),
      onSettingsChanged: (s) => void applySettings(this.config, s),
      onNetworkChanged: () => {},
      config: () => this.config,
      now: () => new Date(this.now()),
      log: (line) => this.ring.push(line),
      selfName: 'this-appliance',
    });
  }

  /** A fresh appliance that has been given a network goes back to none. */
  get dirty(): boolean {
    return !this.withNetwork && existsSync(networkFilePath(this.dataDir));
  }
}

/** What one request got. */
export interface AdminAnswer {
  status: number;
  request: string;
  log: string;
}

/** The admin under fuzzing: the app, its deps, both backends, the sessions and the clock. */
export class AdminFuzz {
  private root = '';
  private clock = Date.UTC(2025, 0, 15, 12, 0, 0);
  private deps!: AdminDeps;
  private app!: ReturnType<typeof buildApp>;
  private store!: FuzzAdminStore;
  private knownHash = '';
  private appliance!: { net: Appliance; fresh: Appliance };
  private fake!: { net: FakeAdminApi; fresh: FakeAdminApi };
  private signed!: Session;
  private anon!: Session;
  private count = 0;
  private lastLog = '';

  async start(): Promise<void> {
    // tmpfs when there is one: the appliance fsyncs every file it writes.
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    this.root = mkdtempSync(join(base, 'warren-fuzz-admin-'));
    const now = () => this.clock;
    const config = parseConfigText(CONFIG);
    this.appliance = { net: new Appliance(this.root, 'net', true, config, now), fresh: new Appliance(this.root, 'fresh', false, config, now) };
    this.appliance.net.reset();
    this.appliance.fresh.reset();
    this.fake = { net: new FakeAdminApi({ withNetwork: true, now }), fresh: new FakeAdminApi({ withNetwork: false, now }) };
    this.store = new FuzzAdminStore(join(this.root, 'admin'), now);
    await this.store.setPassword(FUZZ_PASSWORD);
    this.knownHash = this.store.hash ?? '';
    const api: AdminApi = this.appliance.net.api;
    this.deps = {
      api,
      store: this.store,
      sessions: new SessionStore(now, DEFAULT_SESSION_LIMITS),
      limiter: new FailureLimiter(now, DEFAULT_LIMITS),
      sampler: new ThroughputSampler(api, now, DEFAULT_SAMPLER),
      now,
    };
    this.app = buildApp(this.deps, [HOST], (line) => (this.lastLog = line));
    this.signed = this.deps.sessions.create(true);
    this.anon = this.deps.sessions.create(false);
    // Warm up: every route compiled and every seed answered once before anything is timed.
    for (const s of ADMIN_SEEDS) await this.send(encodeSeed(s));
  }

  async stop(): Promise<void> {
    if (this.root) rmSync(this.root, { recursive: true, force: true });
    this.root = '';
  }

  /** Puts the state the input's flags ask for in place (backend, network, password, sessions, clock). */
  private prepare(flags: Set<Flag>): void {
    if (++this.count % RESET_EVERY === 0) {
      this.appliance.net.reset();
      this.fake.net = new FakeAdminApi({ withNetwork: true, now: this.deps.now });
    }
    if (this.appliance.fresh.dirty) this.appliance.fresh.reset();
    if (this.fake.fresh.net.hasNetwork) this.fake.fresh = new FakeAdminApi({ withNetwork: false, now: this.deps.now });
    const which = flags.has('fresh') ? 'fresh' : 'net';
    this.deps.api = flags.has('fake') ? this.fake[which] : this.appliance[which].api;
    this.store.hash = flags.has('nopassword') ? null : this.knownHash;
    // In-process requests have no peer address: every one counts as client "unknown".
    const wait = this.deps.limiter.retryAfterSeconds(clientKey(undefined));
    if (wait > 0) this.clock += wait * 1000;
    if (!this.deps.sessions.peek(this.signed.token)) this.signed = this.deps.sessions.create(true);
    if (!this.deps.sessions.peek(this.anon.token)) this.anon = this.deps.sessions.create(false);
  }

  /** One input through the admin; its status, what it was, and what the admin logged for it. */
  async send(input: Uint8Array): Promise<AdminAnswer | null> {
    const req = parseInput(input);
    const { flags } = req;
    this.prepare(flags);
    const session = flags.has('session') ? this.signed : flags.has('anon') ? this.anon : null;
    const token = session?.csrf ?? 'not-a-token';
    const headers: Record<string, string> = { host: HOST };
    if (session) headers.cookie = `${SESSION_COOKIE}=${session.token}`;
    if (flags.has('csrf')) headers['x-csrf-token'] = token;
    if (flags.has('hx')) headers['hx-request'] = 'true';
    if (flags.has('origin')) headers.origin = 'http://attacker.example';
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    if (hasBody) {
      headers['content-type'] = flags.has('json') ? 'application/json' : flags.has('multipart') ? `multipart/form-data; boundary=${BOUNDARY}` : flags.has('text') ? 'text/plain' : 'application/x-www-form-urlencoded';
    }
    let request: Request;
    try {
      request = new Request(`http://${HOST}${req.path.replaceAll('{csrf}', token)}`, { method: req.method, headers, body: hasBody ? fill(req.body, token) : undefined });
    } catch {
      return null; // not a request any client could send (a URL or header value fetch refuses)
    }
    this.lastLog = '';
    const res = await this.app.handle(request);
    // An event stream never ends: cancelling it is what a browser going away does.
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) await res.body?.cancel();
    else await res.arrayBuffer();
    return { status: res.status, request: describe(req), log: this.lastLog };
  }

  /** The fuzz property for one input: any answer below 500. */
  async run(input: Uint8Array): Promise<void> {
    const a = await this.send(input);
    if (a && a.status >= 500) throw new Error(`HTTP ${a.status} on ${a.request}${a.log ? `: ${a.log.split('\n').slice(0, 4).join(' | ')}` : ''}`);
  }

  /** The admin still answers: a signed-in page, and a sign-in with the password. */
  async stillAnswers(): Promise<void> {
    const page = await this.send(encodeSeed({ method: 'GET', path: '/', flags: 'session', expect: 200 }));
    const login = await this.send(encodeSeed({ method: 'POST', path: '/login', flags: 'anon', body: form({ _csrf: '{csrf}', password: FUZZ_PASSWORD }), expect: 303 }));
    if (page?.status !== 200 || login?.status !== 303) throw new Error(`the admin stopped answering: GET / → ${page?.status}, sign-in → ${login?.status}`);
  }
}
