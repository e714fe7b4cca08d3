// The LAN devices the appliance sees: the kernel's neighbour table on the LAN interface
// (`ip -json neigh show dev <lan>`, through the one Runner) for who is there, and dnsmasq's
// lease file for what they call themselves.
//
// Everything here comes from other devices and is data, never markup or commands: a host name
// is whatever a DHCP client sent (`<script>…` included). It is kept as a string, capped at 63
// characters; the web admin escapes it where it shows it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '../system/runner.ts';
import { capName, normalizeMac } from './settings.ts';

export const LEASE_FILE = 'dnsmasq.leases';

export interface SeenDevice {
  /** Lower case. */
  mac: string;
  /** IPv4 address. */
  ip: string;
  hostname: string | null;
}

export class LanDevicesError extends Error {
  override readonly name = 'LanDevicesError';
  readonly kind = 'lan-devices';
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Neighbour states with no usable link-layer address (ip-neighbour(8)). */
const UNUSABLE = new Set(['FAILED', 'INCOMPLETE', 'NOARP']);
/** The fresher an entry, the likelier its address is the device's current one. */
const STATE_RANK: Record<string, number> = { PERMANENT: 0, REACHABLE: 1, DELAY: 2, PROBE: 3, STALE: 4 };

function rank(states: string[]): number {
  return Math.min(5, ...states.map((s) => STATE_RANK[s] ?? 5));
}

/** IPv4 neighbours with a MAC, from `ip -json neigh show dev <lan>`; one per MAC (the freshest entry). */
export function parseNeighbours(json: string): { mac: string; ip: string }[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json.trim() === '' ? '[]' : json);
  } catch (e) {
    throw new LanDevicesError(`ip -json neigh printed something that is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new LanDevicesError('ip -json neigh printed something other than a list');
  const best = new Map<string, { mac: string; ip: string; rank: number }>();
  for (const raw of doc) {
    if (typeof raw !== 'object' || raw === null) continue;
    const e = raw as Record<string, unknown>;
    const states = Array.isArray(e.state) ? e.state.filter((s): s is string => typeof s === 'string') : [];
    if (states.some((s) => UNUSABLE.has(s))) continue;
    if (typeof e.dst !== 'string' || !IPV4_RE.test(e.dst) || typeof e.lladdr !== 'string') continue;
    const mac = normalizeMac(e.lladdr);
    if (!mac) continue;
    const r = rank(states);
    const had = best.get(mac);
    if (!had || r < had.rank) best.set(mac, { mac, ip: e.dst, rank: r });
  }
  return [...best.values()].map(({ mac, ip }) => ({ mac, ip }));
}

/**
 * dnsmasq's lease file: `expiry mac ip hostname clientid` per line, `*` for no host name.
 * IPv6 leases (a `duid` line, then lines keyed by IAID) and malformed lines are skipped.
 */
export function parseLeases(text: string): Map<string, { ip: string; hostname: string | null }> {
  const out = new Map<string, { ip: string; hostname: string | null }>();
  for (const line of text.split('\n')) {
    const [expiry, macText, ip, hostname] = line.trim().split(/\s+/);
    if (!expiry || !/^\d+$/.test(expiry) || !macText || !ip || !IPV4_RE.test(ip)) continue;
    const mac = normalizeMac(macText);
    if (!mac) continue;
    out.set(mac, { ip, hostname: !hostname || hostname === '*' ? null : capName(hostname) });
  }
  return out;
}

/** Neighbours joined with leases by MAC, sorted by address. */
export function mergeSeen(neighbours: { mac: string; ip: string }[], leases: Map<string, { ip: string; hostname: string | null }>): SeenDevice[] {
  const key = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  return neighbours
    .map((n) => ({ mac: n.mac, ip: n.ip, hostname: leases.get(n.mac)?.hostname ?? null }))
    .sort((a, b) => key(a.ip) - key(b.ip) || a.mac.localeCompare(b.mac));
}

/** The devices on `lan` now. A missing lease file (no DHCP here) only means no host names. */
export function seenDevices(run: Runner, lan: string, runDir: string): SeenDevice[] {
  const res = run(['ip', '-json', 'neigh', 'show', 'dev', lan], { allowFail: true });
  if (res.code !== 0) throw new LanDevicesError(`cannot list the devices on ${lan}: ip neigh failed (exit ${res.code}): ${(res.stderr || res.stdout).trim()}`);
  let leases = '';
  try {
    leases = readFileSync(join(runDir, LEASE_FILE), 'utf8');
  } catch {
    // no DHCP on this LAN (or not yet): devices are listed without names
  }
  return mergeSeen(parseNeighbours(res.stdout), parseLeases(leases));
}
