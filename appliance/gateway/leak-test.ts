// The leak self-test (the admin's dashboard button): checks, along the path a LAN device's
// packets take, that the internet sees the exit's address, that DNS goes through the tunnel,
// and that the kill switch is in place.
//
//   public address  an HTTP request from this appliance's overlay address — policy routing sends
//                   it through the tunnel exactly as an overlay device's — to `admin.leak_test_url`
//                   (any service answering with the caller's address); the answer must be the
//                   exit's WAN address, which the exit itself reports (gateway/port-service.ts).
//   DNS             the route to each resolver dnsmasq asks goes into the tunnel, and overlay
//                   devices' port 53 is redirected to the appliance.
//   kill switch     Warren's firewall table is loaded, its LAN drop rule last.

import http from 'node:http';
import https from 'node:https';
import type { Runner } from '../system/runner.ts';
import { TABLE } from '../system/nft.ts';
import type { LeakReport } from '../control/admin-types.ts';

export type { LeakReport } from '../control/admin-types.ts';
/** One check; `ok` null: could not be checked. */
export type LeakCheck = LeakReport['checks'][number];

export interface LeakTestDeps {
  url: string;
  /** This appliance's overlay IPv4 address (the source of the request). */
  overlay: string | null;
  tun: string;
  resolvers: readonly string[];
  redirectDns: boolean;
  /** The exit in use (its name), and its WAN address as it reports it. */
  exitName: string | null;
  exitAddress: () => Promise<string | null>;
  run: Runner;
  /** GET `url` from `localAddress`: the body (first 4 KiB), or an error. Default: node:http(s). */
  fetchFrom?: (url: string, localAddress: string) => Promise<string>;
}

const IPV4 = /\b((25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3})\b/;

export function getFrom(url: string, localAddress: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { localAddress, timeout: timeoutMs, headers: { 'user-agent': 'warren-leak-test' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > 4096) res.destroy();
      });
      res.on('end', () => resolve(body.slice(0, 4096)));
      res.on('close', () => resolve(body.slice(0, 4096)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
    req.on('error', reject);
  });
}

export async function runLeakTest(d: LeakTestDeps): Promise<LeakReport> {
  const checks: LeakCheck[] = [];
  // Public address.
  if (!d.exitName || !d.overlay) {
    checks.push({ name: 'Public address', ok: false, detail: 'No exit in use: overlay devices reach nothing (the kill switch holds them). Approve a member that offers an exit.' });
  } else {
    const [expected, seen] = await Promise.all([
      d.exitAddress().catch(() => null),
      (d.fetchFrom ?? getFrom)(d.url, d.overlay).then((body) => IPV4.exec(body)?.[1] ?? null, (e: Error) => e),
    ]);
    if (seen instanceof Error) checks.push({ name: 'Public address', ok: false, detail: `${d.url} did not answer through the tunnel: ${seen.message}` });
    else if (seen === null) checks.push({ name: 'Public address', ok: null, detail: `${d.url} answered without an IPv4 address; set admin.leak_test_url to a service that does` });
    else if (expected === null) checks.push({ name: 'Public address', ok: null, detail: `The internet sees ${seen}; the exit ${d.exitName} did not say its own address, so it cannot be compared` });
    else if (seen === expected) checks.push({ name: 'Public address', ok: true, detail: `The internet sees ${seen}: the address of your exit, ${d.exitName}.` });
    else checks.push({ name: 'Public address', ok: false, detail: `The internet sees ${seen}, but your exit ${d.exitName} is at ${expected}.` });
  }
  // DNS.
  const routes = d.resolvers.map((r) => {
    const out = d.run(['ip', '-4', 'route', 'get', r], { allowFail: true });
    const dev = / dev (\S+)/.exec(out.stdout)?.[1] ?? null;
    return { resolver: r, dev };
  });
  const outside = routes.filter((r) => r.dev !== d.tun);
  if (routes.length === 0) checks.push({ name: 'DNS', ok: null, detail: 'DNS is not served by this appliance (gateway.dns = false).' });
  else if (outside.length > 0) checks.push({ name: 'DNS', ok: false, detail: `The way to ${outside.map((r) => `${r.resolver} (${r.dev ?? 'no route'})`).join(', ')} is not through the tunnel.` });
  else checks.push({ name: 'DNS', ok: true, detail: `Asked of ${d.resolvers.join(', ')} through the tunnel${d.redirectDns ? '; devices\' own DNS settings are redirected to this appliance' : ''}.` });
  // Kill switch.
  const table = d.run(['nft', 'list', 'table', 'inet', TABLE], { allowFail: true });
  const hasKill = table.code === 0 && /chain filter_forward[\s\S]*iifname "[^"]+" drop/.test(table.stdout);
  checks.push(hasKill
    ? { name: 'Kill switch', ok: true, detail: 'In the kernel: overlay devices reach nothing when the tunnel is down.' }
    : { name: 'Kill switch', ok: false, detail: 'Warren\'s firewall table is not loaded.' });
  return { ok: checks.every((c) => c.ok === true), checks };
}
