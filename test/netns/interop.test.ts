// Interoperability is the proof: Warren's WireGuard mode against Debian's wireguard-go + wg,
// each side initiating, with and without a preshared key, and through Warren's cookie path.
//
//   ns w (Warren, 10.97.0.1) ──veth 192.168.79.0/24── ns g (wireguard-go, 10.97.0.2)

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor } from './lib/netns.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
import { genKeyPair, genPsk, startWireguardGo, type WireguardGo } from './lib/wireguard-go.ts';

const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');
const FIXTURES = join(REPO_ROOT, 'test/netns/fixtures');

let lab: Lab;
let nsW: string;
let nsG: string;
let file: string;
let fileSha: string;
let port = 51840;

beforeAll(async () => {
  lab = await Lab.create('interop');
  nsW = await lab.ns('w');
  nsG = await lab.ns('g');
  await lab.veth(nsW, nsG, { a: '192.168.79.1/24', b: '192.168.79.2/24' });
  file = join(lab.tmpDir, 'five.bin');
  const data = crypto.getRandomValues(new Uint8Array(65536));
  writeFileSync(file, Buffer.concat(Array.from({ length: 80 }, () => data)));
  fileSha = createHash('sha256').update(readFileSync(file)).digest('hex');
}, 60_000);

afterAll(async () => {
  await lab?.cleanup();
});

interface Pair {
  warren: WarrenNode;
  wg: WireguardGo;
  net: string; // first three octets of the tunnel subnet
}

/** A Warren and a wireguard-go that know each other; `initiator` is the side given the endpoint. */
async function pair(initiator: 'warren' | 'wg', opts: { psk?: boolean; wrongPsk?: boolean; cookieAfter?: number } = {}): Promise<Pair> {
  const p = port++;
  const net = `10.97.${p - 51800}`;
  const wgKeys = await genKeyPair();
  const psk = opts.psk ? await genPsk() : undefined;
  const wgPsk = opts.wrongPsk ? await genPsk() : psk;
  const warrenKeys = await genKeyPair();
  // The responder starts first, so the initiator's first initiation is not lost to a closed port.
  const startW = () => startWarren(lab, nsW, {
    name: `w${p}`,
    privateKey: warrenKeys.privateKey,
    listenPort: p,
    addresses: [`${net}.1/24`, `fd97:${p - 51800}::1/64`],
    limits: opts.cookieAfter === undefined ? undefined : { cookie_after_handshakes_per_second: opts.cookieAfter },
    peers: [{
      name: 'wireguard-go',
      publicKey: wgKeys.publicKey,
      presharedKey: psk,
      endpoint: initiator === 'warren' ? `192.168.79.2:${p}` : undefined,
      allowedIps: [`${net}.2/32`, `fd97:${p - 51800}::2/128`],
    }],
  });
  const startG = () => startWireguardGo(lab, nsG, {
    privateKey: wgKeys.privateKey,
    listenPort: p,
    addresses: [`${net}.2/24`, `fd97:${p - 51800}::2/64`],
    logLevel: 'error',
    peers: [{
      publicKey: warrenKeys.publicKey,
      presharedKey: wgPsk,
      endpoint: initiator === 'wg' ? `192.168.79.1:${p}` : undefined,
      allowedIps: [`${net}.1/32`, `fd97:${p - 51800}::1/128`],
    }],
  });
  let warren: WarrenNode;
  let wg: WireguardGo;
  if (initiator === 'warren') {
    wg = await startG();
    warren = await startW();
  } else {
    warren = await startW();
    wg = await startG();
  }
  return { warren, wg, net };
}

async function pingOk(ns: string, target: string): Promise<boolean> {
  return (await lab.exec(ns, ['ping', '-c', '3', '-i', '0.2', '-W', '3', target], { check: false, timeoutMs: 30_000 })).code === 0;
}

async function tcpDownload(fromNs: string, serverNs: string, serverAddr: string, httpPort: number): Promise<string> {
  const srv = lab.spawn(serverNs, [BUN, join(FIXTURES, 'file-server.ts'), file, String(httpPort)], { log: `interop-http-${httpPort}` });
  await waitFor('interop http server', async () => (await lab.exec(serverNs, ['curl', '-s', '-o', '/dev/null', `http://127.0.0.1:${httpPort}/`], { check: false })).code === 0);
  const out = join(lab.tmpDir, `dl-${httpPort}`);
  const r = await lab.exec(fromNs, ['curl', '-sS', '--max-time', '60', '-o', out, `http://${serverAddr}:${httpPort}/`], { check: false, timeoutMs: 70_000 });
  await lab.kill(srv);
  expect(r.stderr).toBe('');
  return createHash('sha256').update(readFileSync(out)).digest('hex');
}

async function stop(p: Pair): Promise<void> {
  await Promise.all([p.warren.stop(), p.wg.stop()]);
}

describe('Warren ↔ wireguard-go', () => {
  test('Warren initiates: ping (IPv4, IPv6) and a TCP download both ways', async () => {
    const p = await pair('warren');
    expect(await pingOk(nsW, `${p.net}.2`)).toBe(true);
    expect(await pingOk(nsW, `fd97:${p.warren.listenPort - 51800}::2`)).toBe(true);
    expect(await pingOk(nsG, `${p.net}.1`)).toBe(true);
    expect(await tcpDownload(nsW, nsG, `${p.net}.2`, 8090)).toBe(fileSha);
    expect(await tcpDownload(nsG, nsW, `${p.net}.1`, 8091)).toBe(fileSha);
    const dump = await p.wg.show();
    expect(dump.peers[0]?.latestHandshake).toBeGreaterThan(0);
    expect(dump.peers[0]?.endpoint).toBe(`192.168.79.1:${p.warren.listenPort}`);
    await stop(p);
  }, 120_000);

  test('wireguard-go initiates, with a preshared key: ping and TCP', async () => {
    const p = await pair('wg', { psk: true });
    expect(await pingOk(nsG, `${p.net}.1`)).toBe(true);
    expect(await pingOk(nsW, `${p.net}.2`)).toBe(true);
    expect(await tcpDownload(nsG, nsW, `${p.net}.1`, 8092)).toBe(fileSha);
    const st = await p.warren.status();
    const peer = (st.peers as { endpoint: string; handshakes: number }[])[0];
    expect(peer?.endpoint).toBe(`192.168.79.2:${p.warren.listenPort}`); // learned from wireguard-go's packets
    expect(peer?.handshakes).toBeGreaterThanOrEqual(1);
    await stop(p);
  }, 120_000);

  test('a PSK mismatch never completes a handshake', async () => {
    const p = await pair('warren', { psk: true, wrongPsk: true });
    expect((await lab.exec(nsW, ['ping', '-c', '2', '-W', '1', `${p.net}.2`], { check: false })).code).not.toBe(0);
    const peer = ((await p.warren.status()).peers as { handshakes: number }[])[0];
    expect(peer?.handshakes).toBe(0);
    await stop(p);
  }, 60_000);

  test('under load Warren answers with a cookie, and wireguard-go comes back with a valid mac2', async () => {
    const p = await pair('wg', { cookieAfter: 0 });
    // wireguard-go retries its initiation after REKEY_TIMEOUT (5 s), now carrying mac2.
    const ok = await waitFor('ping through the cookie path', () => pingOk(nsG, `${p.net}.1`), { timeoutMs: 30_000, intervalMs: 200 });
    expect(ok).toBe(true);
    const c = (await p.warren.status()).counters as Record<string, number>;
    expect(c.cookieRepliesSent).toBeGreaterThanOrEqual(1);
    expect(c.initiationsReceived).toBeGreaterThanOrEqual(1);
    await stop(p);
  }, 60_000);
});
