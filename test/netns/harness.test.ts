/**
 * Proves the lab itself: namespaces over veth, the wireguard-go reference tunnel every interop
 * test leans on, Warren's config rendering, and that cleanup leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { Lab, LabError, namespacesOf, pidAlive, readPcap, run } from './lib/netns.ts';
import { warrenConfigToml } from './lib/warren.ts';
import { genKeyPair, genPsk, parseWgDump, startWireguardGo, WG_SOCKET_DIR } from './lib/wireguard-go.ts';

const T = 60_000;

describe('lab over veth', () => {
  let lab: Lab;
  let a = '';
  let b = '';

  beforeAll(async () => {
    lab = await Lab.create('harness');
    a = await lab.ns('a');
    b = await lab.ns('b');
    await lab.veth(a, b, { a: '192.168.77.1/24', b: '192.168.77.2/24', a6: 'fd77::1/64', b6: 'fd77::2/64' });
  }, T);

  afterAll(() => lab.cleanup(), T);

  test('namespaces are named warren-<id>-<role>', () => {
    expect(a).toBe(`warren-${lab.id}-a`);
    expect(namespacesOf(lab.id).sort()).toEqual([a, b]);
  });

  test('two namespaces over veth ping each other (IPv4 and IPv6)', async () => {
    await lab.exec(a, ['ping', '-c', '2', '-i', '0.1', '-W', '2', '192.168.77.2']);
    await lab.exec(b, ['ping', '-c', '2', '-i', '0.1', '-W', '2', '192.168.77.1']);
    await lab.exec(a, ['ping', '-6', '-c', '2', '-i', '0.1', '-W', '2', 'fd77::2']);
  }, T);

  test('a failing exec throws with the command and its output', async () => {
    const err = await lab.exec(a, ['ip', 'link', 'show', 'nonexistent0']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).kind).toBe('exec-failed');
    expect((err as LabError).message).toContain('ip link show nonexistent0');
    expect((err as LabError).message).toContain('does not exist');
    const quiet = await lab.exec(a, ['false'], { check: false });
    expect(quiet.code).toBe(1);
  });

  test('wireguard-go ↔ wireguard-go tunnel carries ping (the interop reference)', async () => {
    const psk = await genPsk();
    const ka = await genKeyPair();
    const kb = await genKeyPair();
    const capture = await lab.capture(a, 'veth0a', 'udp');
    // b (no endpoint, it learns a's) first: a initiates as soon as it has a peer with an endpoint,
    // and an initiation lost to a not-yet-running b is only retried after REKEY_TIMEOUT (5 s).
    const wb = await startWireguardGo(lab, b, {
      privateKey: kb.privateKey,
      listenPort: 51821,
      addresses: ['10.99.0.2/24', 'fd99::2/64'],
      peers: [{ publicKey: ka.publicKey, presharedKey: psk, allowedIps: ['10.99.0.1/32', 'fd99::1/128'] }],
    });
    const wa = await startWireguardGo(lab, a, {
      privateKey: ka.privateKey,
      listenPort: 51820,
      addresses: ['10.99.0.1/24', 'fd99::1/64'],
      peers: [{ publicKey: kb.publicKey, presharedKey: psk, endpoint: '192.168.77.2:51821', allowedIps: ['10.99.0.2/32', 'fd99::2/128'], persistentKeepalive: 25 }],
    });
    expect(wa.iface).not.toBe(wb.iface);

    await lab.exec(a, ['ping', '-c', '3', '-i', '0.1', '-w', '10', '10.99.0.2']);
    await lab.exec(b, ['ping', '-6', '-c', '3', '-i', '0.1', '-w', '10', 'fd99::1']);

    const showA = await wa.show();
    expect(showA.publicKey).toBe(ka.publicKey);
    expect(showA.listenPort).toBe(51820);
    const peer = showA.peers[0];
    expect(peer?.publicKey).toBe(kb.publicKey);
    expect(peer?.presharedKey).toBe(psk);
    expect(peer?.endpoint).toBe('192.168.77.2:51821');
    expect(peer?.allowedIps.sort()).toEqual(['10.99.0.2/32', 'fd99::2/128']);
    expect(peer?.persistentKeepalive).toBe(25);
    expect(peer?.latestHandshake ?? 0).toBeGreaterThan(0);
    expect(peer?.rxBytes ?? 0).toBeGreaterThan(0);
    // b learned a's endpoint from the handshake (roaming), it was never configured.
    expect((await wb.show()).peers[0]?.endpoint).toBe('192.168.77.1:51820');

    const pcap = await capture.stop();
    const lines = await readPcap(pcap);
    expect(lines.some((l) => l.includes('192.168.77.1.51820 > 192.168.77.2.51821'))).toBe(true);

    expect(await wa.stop()).toBe(0);
    expect(await wb.stop()).toBe(0);
  }, T);
});

describe('lab helpers without processes', () => {
  test('parseWgDump reads interface and peer lines', () => {
    const dump = 'cHJpdg==\tcHVi\t51820\toff\nUEVFUg==\t(none)\t(none)\t10.0.0.2/32,fd00::2/128\t0\t0\t0\toff\n';
    const parsed = parseWgDump(dump);
    expect(parsed.listenPort).toBe(51820);
    expect(parsed.fwmark).toBeNull();
    expect(parsed.peers[0]).toEqual({
      publicKey: 'UEVFUg==',
      presharedKey: null,
      endpoint: null,
      allowedIps: ['10.0.0.2/32', 'fd00::2/128'],
      latestHandshake: 0,
      rxBytes: 0,
      txBytes: 0,
      persistentKeepalive: null,
    });
  });

  test('warrenConfigToml follows the config contract', () => {
    const toml = warrenConfigToml({
      iface: 'wrn0',
      privateKey: 'a'.repeat(43) + '=',
      listenPort: 51820,
      addresses: ['10.99.0.1/24', 'fd99::1/64'],
      socket: '/tmp/x.sock',
      timers: { rekey_after_time: 5 },
      peers: [{ name: 'b', publicKey: 'b'.repeat(43) + '=', endpoint: '192.168.77.2:51820', allowedIps: ['10.99.0.2/32'], persistentKeepalive: 25 }],
    });
    const doc: Record<string, unknown> = parse(toml);
    expect(doc.interface).toEqual({
      name: 'wrn0',
      private_key: 'a'.repeat(43) + '=',
      listen_port: 51820,
      address: ['10.99.0.1/24', 'fd99::1/64'],
      mtu: 1420,
      wire: 'wireguard',
    });
    expect(doc.control).toEqual({ socket: '/tmp/x.sock' });
    expect(doc.timers).toEqual({ rekey_after_time: 5 });
    expect(doc.peer).toEqual([
      { name: 'b', public_key: 'b'.repeat(43) + '=', endpoint: '192.168.77.2:51820', allowed_ips: ['10.99.0.2/32'], persistent_keepalive: 25 },
    ]);
  });
});

describe('cleanup', () => {
  test('leaves no warren-<id>-* namespace, no tracked process, no wireguard-go socket', async () => {
    const lab = await Lab.create('cleanup');
    const x = await lab.ns('x');
    const y = await lab.ns('y');
    await lab.veth(x, y, { a: '192.168.78.1/24', b: '192.168.78.2/24' });
    const sleeper = lab.spawn(x, ['sleep', '300'], { log: 'sleeper' });
    // A process that ignores SIGTERM must still be gone (SIGKILL after the grace period).
    const stubborn = lab.spawn(y, ['sh', '-c', 'trap "" TERM; sleep 300 & wait'], { log: 'stubborn' });
    const wg = await startWireguardGo(lab, x, { addresses: ['10.98.0.1/24'] });
    const socket = join(WG_SOCKET_DIR, `${wg.iface}.sock`);
    expect(existsSync(socket)).toBe(true);
    expect(namespacesOf(lab.id).length).toBe(2);
    const pids = [sleeper.pid, stubborn.pid, wg.proc.pid];
    expect(pids.every(pidAlive)).toBe(true);

    await lab.cleanup();

    expect(namespacesOf(lab.id)).toEqual([]);
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(lab.liveProcesses()).toEqual([]);
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(lab.tmpDir)).toBe(false);
  }, T);

  test('sweepStale removes namespaces of runs whose PID is gone, and only those', async () => {
    // A PID that is certainly not running: the child we just waited for.
    const done = Bun.spawn(['true']);
    await done.exited;
    const stale = `warren-${done.pid}a-stale`;
    await run(['ip', 'netns', 'add', stale]);
    try {
      const swept = await Lab.sweepStale();
      expect(swept).toContain(stale);
      expect(existsSync(`/run/netns/${stale}`)).toBe(false);
    } finally {
      await run(['ip', 'netns', 'del', stale], { check: false });
    }
  });
});
