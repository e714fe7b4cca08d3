// Two Warren appliances in network namespaces carry real traffic between their TUN devices.
// The suite runs once per wire (tunnel.test.ts: native, tunnel-wireguard.test.ts: WireGuard).
//
//   ns a ──veth 192.168.77.0/24── ns b ──veth 192.168.78.0/24── ns m (an attacker: injects
//   (Warren A, 10.99.0.1)          (Warren B, 10.99.0.2)          replayed, forged, garbage UDP)
//
// Every property is observed from outside Warren: ping, curl and sha256 in the namespaces,
// a capture of the wire, and the daemon's own counters over its control socket.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor, type LabProcess } from './lib/netns.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
import { readUdp } from './lib/pcap.ts';

export type WireKind = 'native' | 'wireguard';

export function tunnelSuite(wire: WireKind): void {
  const WIRE = wire === 'native' ? { wire, networkSecret: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64') } : { wire };
  const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');
  const FIXTURES = join(REPO_ROOT, 'test/netns/fixtures');
  const FAST_RECOVERY = { keepalive_timeout: 3, rekey_timeout: 2 };

  let lab: Lab;
  let nsA: string;
  let nsB: string;
  let nsM: string;
  let a: WarrenNode;
  let b: WarrenNode;
  let bigFile: string;
  let bigSha: string;
  let server: LabProcess;
  let vethA: string; // A's side of the a–b link
  let vethM: string; // the attacker's side of the m–b link

  interface Counters {
    [k: string]: number;
  }

  async function counters(node: WarrenNode): Promise<Counters> {
    return (await node.status()).counters as Counters;
  }

  async function ping(ns: string, target: string, count = 3): Promise<boolean> {
    const r = await lab.exec(ns, ['ping', '-c', String(count), '-i', '0.2', '-W', '2', target], { check: false, timeoutMs: 30_000 });
    return r.code === 0;
  }

  async function sha256Download(ns: string, url: string, extra: string[] = []): Promise<{ code: number; sha: string; stderr: string }> {
    const out = join(lab.tmpDir, `dl-${Date.now()}`);
    const r = await lab.exec(ns, ['curl', '-sS', '--max-time', '120', ...extra, '-o', out, url], { check: false, timeoutMs: 130_000 });
    const sha = r.code === 0 ? createHash('sha256').update(readFileSync(out)).digest('hex') : '';
    return { code: r.code, sha, stderr: r.stderr };
  }

  function warrenPeers(self: 'a' | 'b', other: WarrenNode | { publicKey: string }, withEndpoint: boolean) {
    return [{
      name: self === 'a' ? 'b' : 'a',
      publicKey: other.publicKey,
      endpoint: withEndpoint ? (self === 'a' ? '192.168.77.2:51820' : '192.168.77.1:51820') : undefined,
      allowedIps: self === 'a' ? ['10.99.0.2/32', 'fd99::2/128'] : ['10.99.0.1/32', 'fd99::1/128'],
    }];
  }

  beforeAll(async () => {
    lab = await Lab.create(`tunnel-${wire}`);
    nsA = await lab.ns('a');
    nsB = await lab.ns('b');
    nsM = await lab.ns('m');
    vethA = (await lab.veth(nsA, nsB, { a: '192.168.77.1/24', b: '192.168.77.2/24' })).a;
    vethM = (await lab.veth(nsM, nsB, { a: '192.168.78.3/24', b: '192.168.78.2/24' })).a;
    // Keys first, so each config can name the other.
    const ka = (await lab.exec(nsA, [join(REPO_ROOT, 'warren'), 'genkey'])).stdout.trim();
    const kb = (await lab.exec(nsB, [join(REPO_ROOT, 'warren'), 'genkey'])).stdout.trim();
    const pub = async (k: string) => (await lab.exec(nsA, [join(REPO_ROOT, 'warren'), 'pubkey'], { stdin: k })).stdout.trim();
    const [pa, pb] = [await pub(ka), await pub(kb)];
    // B does not know A's endpoint: it learns it from A's first authenticated packet.
    [a, b] = await Promise.all([
      startWarren(lab, nsA, { ...WIRE, name: 'a', privateKey: ka, addresses: ['10.99.0.1/24', 'fd99::1/64'], peers: warrenPeers('a', { publicKey: pb }, true), timers: FAST_RECOVERY }),
      startWarren(lab, nsB, { ...WIRE, name: 'b', privateKey: kb, privateKeyInFile: true, addresses: ['10.99.0.2/24', 'fd99::2/64'], peers: warrenPeers('b', { publicKey: pa }, false), timers: FAST_RECOVERY }),
    ]);
    bigFile = join(lab.tmpDir, 'big.bin');
    const data = new Uint8Array(50 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
    writeFileSync(bigFile, data);
    bigSha = createHash('sha256').update(data).digest('hex');
    server = lab.spawn(nsB, [BUN, join(FIXTURES, 'file-server.ts'), bigFile, '8080'], { log: 'file-server' });
    await waitFor('file server in b', async () => (await lab.exec(nsB, ['curl', '-s', '-o', '/dev/null', 'http://127.0.0.1:8080/'], { check: false })).code === 0);
  }, 120_000);

  afterAll(async () => {
    await lab?.cleanup();
  });

  describe(`tunnel between two Warren appliances (${wire} wire)`, () => {
    test('ping both ways over IPv4 and IPv6 inside the tunnel', async () => {
      expect(await ping(nsA, '10.99.0.2')).toBe(true);
      expect(await ping(nsB, '10.99.0.1')).toBe(true);
      expect(await ping(nsA, 'fd99::2')).toBe(true);
      expect(await ping(nsB, 'fd99::1')).toBe(true);
      const st = await b.status();
      const peer = (st.peers as { endpoint: string; handshakes: number }[])[0];
      expect(peer?.endpoint).toBe('192.168.77.1:51820'); // learned from A's packets
      expect(peer?.handshakes).toBeGreaterThanOrEqual(1);
    }, 60_000);

    test('a 50 MB HTTP download through the tunnel arrives with the same SHA-256', async () => {
      const r = await sha256Download(nsA, 'http://10.99.0.2:8080/big.bin');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.sha).toBe(bigSha);
    }, 150_000);

    test('nothing on the wire is plaintext: the file never crosses the veth in the clear', async () => {
      const cap = await lab.capture(nsA, vethA, 'udp');
      const small = join(lab.tmpDir, 'marker.txt');
      const marker = `warren-plaintext-marker-${crypto.randomUUID()}`;
      writeFileSync(small, marker.repeat(20));
      const srv = lab.spawn(nsB, [BUN, join(FIXTURES, 'file-server.ts'), small, '8081'], { log: 'marker-server' });
      await waitFor('marker server', async () => (await lab.exec(nsB, ['curl', '-s', '-o', '/dev/null', 'http://127.0.0.1:8081/'], { check: false })).code === 0);
      const r = await lab.exec(nsA, ['curl', '-sS', '--max-time', '20', 'http://10.99.0.2:8081/'], { check: false });
      expect(r.stdout).toContain(marker);
      const pcap = await cap.stop();
      await lab.kill(srv);
      const datagrams = readUdp(pcap);
      expect(datagrams.length).toBeGreaterThan(0);
      const wire = Buffer.concat(datagrams.map((d) => d.payload)).toString('latin1');
      expect(wire.includes(marker)).toBe(false);
      expect(datagrams.every((d) => d.srcPort === 51820 && d.dstPort === 51820)).toBe(true);
    }, 60_000);

    test('a replayed and a bit-flipped data packet from a third namespace are dropped and counted', async () => {
      const cap = await lab.capture(nsA, vethA, 'udp and src host 192.168.77.1');
      expect(await ping(nsA, '10.99.0.2', 3)).toBe(true);
      const pcap = await cap.stop();
      // Data messages from A: WireGuard marks them (type 4, longer than a keepalive); the native
      // wire marks nothing, and everything A sends here is a ping (padded past 60 bytes).
      const data = readUdp(pcap).filter((d) => (wire === 'wireguard' ? d.payload[0] === 4 && d.payload.length > 32 : d.payload.length > 60));
      expect(data.length).toBeGreaterThan(0);
      const replay = data[data.length - 1]!.payload;
      const flipped = replay.slice();
      flipped[40] = (flipped[40] ?? 0) ^ 0x80;
      const before = await counters(b);
      await lab.exec(nsM, [BUN, join(FIXTURES, 'udp-send.ts'), '192.168.78.2:51820', Buffer.from(replay).toString('hex'), Buffer.from(flipped).toString('hex')]);
      await waitFor('counters to move', async () => {
        const c = await counters(b);
        return c.dropReplay === before.dropReplay! + 1 && c.dropAuth === before.dropAuth! + 1;
      }, { timeoutMs: 5_000 });
      // Neither packet moved the peer's endpoint to the attacker (roaming needs authentication).
      const peer = ((await b.status()).peers as { endpoint: string }[])[0];
      expect(peer?.endpoint).toBe('192.168.77.1:51820');
      expect(await ping(nsA, '10.99.0.2', 2)).toBe(true);
    }, 60_000);

    test('garbage UDP is counted and dropped, never answered, and the daemon keeps running', async () => {
      const before = await counters(b);
      const cap = await lab.capture(nsM, vethM, 'udp and src host 192.168.78.2');
      await lab.exec(nsM, [BUN, join(FIXTURES, 'udp-send.ts'), '192.168.78.2:51820', '--random', '500']);
      let seen = 0;
      await waitFor('garbage counted', async () => {
        const c = await counters(b);
        const dropped = (k: string) => c[k]! - before[k]!;
        // dropBusy: a burst faster than the main thread drains the worker's ring to it, dropped unexamined.
        seen = dropped('dropMalformed') + dropped('dropUnknownIndex') + dropped('handshakeBadMac') + dropped('handshakeInvalid') + dropped('dropBusy');
        return seen === 500;
      }, { timeoutMs: 10_000 }).catch((e: Error) => {
        throw new Error(`${e.message}: ${seen} of 500 counted`);
      });
      const replies = readUdp(await cap.stop());
      expect(replies).toHaveLength(0);
      expect(b.proc.exitCode()).toBeNull();
      expect(await ping(nsA, '10.99.0.2', 2)).toBe(true);
    }, 60_000);

    test('metrics, peers and doctor over the control socket', async () => {
      // The data plane runs its native loop (ffi/fastpath.c): libsodium is installed here.
      expect(((await a.status()).outbound as { fastPath: number }).fastPath).toBe(2);
      const metrics = (await lab.exec(nsA, ['curl', '-sS', '--unix-socket', a.socketPath, 'http://warren/metrics'])).stdout;
      expect(metrics).toMatch(/^warren_rx_datagrams_total [1-9][0-9]*$/m);
      expect(metrics).toMatch(/^warren_peer_handshakes_total\{peer="b",key="[^"]+"\} [1-9][0-9]*$/m);
      const peers = JSON.parse((await lab.exec(nsA, [join(REPO_ROOT, 'warren'), 'peers', '--json', '--socket', a.socketPath])).stdout) as { name: string; endpoint: string }[];
      expect(peers.map((p) => p.name)).toEqual(['b']);
      if (wire === 'native') {
        // Peer quality: probes every 2 s give a round trip (and loss) for the peer.
        let q: { rttMs: number | null; lossPercent: number | null; upSeconds: number | null } | undefined;
        await waitFor('a round trip measured', async () => {
          q = (JSON.parse((await lab.exec(nsA, [join(REPO_ROOT, 'warren'), 'peers', '--json', '--socket', a.socketPath])).stdout) as typeof q[])[0];
          return typeof q?.rttMs === 'number' && q.lossPercent !== null;
        }, { timeoutMs: 10_000, intervalMs: 500 });
        expect(q!.rttMs!).toBeGreaterThan(0);
        expect(q!.rttMs!).toBeLessThan(50);
        expect(q!.upSeconds).not.toBeNull();
        expect((await lab.exec(nsA, [join(REPO_ROOT, 'warren'), 'peers', '--socket', a.socketPath])).stdout).toMatch(/rtt [\d.]+ ms {2}loss [\d.]+ %/);
      }
      const doctor = await lab.exec(nsA, [join(REPO_ROOT, 'warren'), 'doctor', '--json', '--socket', a.socketPath], { check: false });
      expect(doctor.code).toBe(0);
      expect((JSON.parse(doctor.stdout) as { name: string; ok: boolean }[]).every((c) => c.ok)).toBe(true);
      // Without CAP_NET_ADMIN the doctor says so, and fails.
      const weak = await lab.exec(nsA, ['setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin', '--', join(REPO_ROOT, 'warren'), 'doctor'], { check: false });
      expect(weak.code).toBe(1);
      expect(weak.stdout).toMatch(/FAIL cap_net_admin/);
    }, 60_000);

    test('B restarts (SIGKILL) and traffic resumes without operator action', async () => {
      expect(await ping(nsA, '10.99.0.2', 2)).toBe(true);
      await lab.kill(b.proc, 'SIGKILL');
      const restarted = await startWarren(lab, nsB, {
        ...WIRE,
        name: 'b2',
        privateKey: b.privateKey,
        addresses: ['10.99.0.2/24', 'fd99::2/64'],
        peers: warrenPeers('b', a, false),
        timers: FAST_RECOVERY,
      });
      b = restarted;
      // A still holds the old session; B knows nothing of it. A notices no replies and rehandshakes.
      const t0 = Date.now();
      await waitFor('ping through the tunnel after B restarted', () => ping(nsA, '10.99.0.2', 1), { timeoutMs: 30_000, intervalMs: 100 });
      const seconds = (Date.now() - t0) / 1000;
      console.log(`tunnel resumed ${seconds.toFixed(1)} s after B restarted`);
      expect(seconds).toBeLessThan(20);
      server = lab.spawn(nsB, [BUN, join(FIXTURES, 'file-server.ts'), bigFile, '8080'], { log: 'file-server-2' });
    }, 90_000);
  });

  describe(`rekey during a transfer (${wire} wire)`, () => {
    test('keys rotate every 2 s while 20 MB flow; the download is intact', async () => {
      const ka = (await lab.exec(nsA, [join(REPO_ROOT, 'warren'), 'genkey'])).stdout.trim();
      const kb = (await lab.exec(nsB, [join(REPO_ROOT, 'warren'), 'genkey'])).stdout.trim();
      const pub = async (k: string) => (await lab.exec(nsA, [join(REPO_ROOT, 'warren'), 'pubkey'], { stdin: k })).stdout.trim();
      const timers = { rekey_after_time: 2, reject_after_time: 5, keepalive_timeout: 2, rekey_timeout: 1 };
      const [ra, rb] = await Promise.all([
        startWarren(lab, nsA, { ...WIRE, name: 'ra', privateKey: ka, listenPort: 51830, addresses: ['10.98.0.1/24'], timers,
          peers: [{ name: 'rb', publicKey: await pub(kb), endpoint: '192.168.77.2:51830', allowedIps: ['10.98.0.2/32'] }] }),
        startWarren(lab, nsB, { ...WIRE, name: 'rb', privateKey: kb, listenPort: 51830, addresses: ['10.98.0.2/24'], timers,
          peers: [{ name: 'ra', publicKey: await pub(ka), allowedIps: ['10.98.0.1/32'] }] }),
      ]);
      const small = join(lab.tmpDir, 'twenty.bin');
      const data = crypto.getRandomValues(new Uint8Array(65536));
      const parts = Array.from({ length: 320 }, () => data);
      writeFileSync(small, Buffer.concat(parts));
      const sha = createHash('sha256').update(readFileSync(small)).digest('hex');
      const srv = lab.spawn(nsB, [BUN, join(FIXTURES, 'file-server.ts'), small, '8082'], { log: 'rekey-server' });
      await waitFor('rekey server', async () => (await lab.exec(nsB, ['curl', '-s', '-o', '/dev/null', 'http://127.0.0.1:8082/'], { check: false })).code === 0);
      // ~10 s at 2 MB/s: four or five rekeys (every 2 s) fall inside the transfer.
      const t0 = performance.now();
      const r = await sha256Download(nsA, 'http://10.98.0.2:8082/', ['--limit-rate', '2M']);
      const seconds = (performance.now() - t0) / 1000;
      expect(r.code).toBe(0);
      expect(r.sha).toBe(sha);
      const handshakes = ((await ra.status()).peers as { handshakes: number }[])[0]?.handshakes ?? 0;
      console.log(`handshakes during the rekey transfer: ${handshakes} in ${seconds.toFixed(1)} s`);
      // The first handshake, then a rekey at least every 4 s (every 2 s nominal; twice that on a
      // loaded machine: CI once saw 2 handshakes in a run shorter than usual).
      expect(handshakes).toBeGreaterThanOrEqual(Math.max(2, 1 + Math.floor(seconds / 4)));
      await lab.kill(srv);
      await Promise.all([ra.stop(), rb.stop()]);
    }, 120_000);
  });

  // Start-up errors do not depend on the wire: checked once.
  describe.if(wire === 'wireguard')('errors a user can act on', () => {
    test('without CAP_NET_ADMIN the daemon explains it in one line', async () => {
      const cfg = join(lab.tmpDir, 'nocap.toml');
      writeFileSync(cfg, `[interface]\nwire = "wireguard"\nname = "wnocap"\nprivate_key = "${a.privateKey}"\nlisten_port = 51899\n[control]\nsocket = "${join(lab.tmpDir, 'nocap.sock')}"\n`);
      const r = await lab.exec(nsM, ['setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin', '--', join(REPO_ROOT, 'warren'), 'daemon', '--config', cfg], { check: false, timeoutMs: 30_000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('CAP_NET_ADMIN');
    }, 40_000);

    test('without /dev/net/tun the daemon explains it in one line', async () => {
      const cfg = join(lab.tmpDir, 'notun.toml');
      writeFileSync(cfg, `[interface]\nwire = "wireguard"\nname = "wnotun"\nprivate_key = "${a.privateKey}"\nlisten_port = 51898\n[control]\nsocket = "${join(lab.tmpDir, 'notun.sock')}"\n`);
      const r = await lab.exec(nsM, ['unshare', '-m', 'sh', '-c', `mount -t tmpfs none /dev/net && exec ${join(REPO_ROOT, 'warren')} daemon --config ${cfg}`], { check: false, timeoutMs: 30_000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('/dev/net/tun');
    }, 40_000);

    test('a bad config is refused at start naming the field', async () => {
      const cfg = join(lab.tmpDir, 'bad.toml');
      writeFileSync(cfg, `[interface]\nwire = "wireguard"\nprivate_key = "${a.privateKey}"\n[[peer]]\npublic_key = "${a.publicKey}"\nendpoint = "nowhere"\n`);
      const r = await lab.exec(nsM, [join(REPO_ROOT, 'warren'), 'daemon', '--config', cfg], { check: false, timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('peer[0].endpoint');
    }, 40_000);
  });
}
