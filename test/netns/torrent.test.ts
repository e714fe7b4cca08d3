// A torrent through Warren (issue "Made for sharing"). Debian's transmission-daemon on the LAN
// client behind the home appliance downloads a 200 MB torrent from a seeder on the lab's
// "internet", announced on the lab's own tracker (Debian's opentracker, bound to a lab address;
// never a public tracker; DHT, LPD and PEX are off everywhere). Transmission asks Warren for its
// peer port with NAT-PMP on its own (port-forwarding-enabled), as it would ask a home router.
//
//  - the download completes and every piece checks against the torrent's SHA-1 hashes (and the
//    file's SHA-256 equals the original's);
//  - the tracker and the seeder see the exit's public address, never the home's;
//  - a second peer on the internet, which accepts no incoming connection itself, gets the whole
//    file from the LAN client alone (the seeder is stopped first): its connections reach the
//    client through the port the exit holds for it, and the client lists it as incoming.
//
// Topology: lib/gateway-lab.ts (client 192.168.1.10 behind home, exit 203.0.113.20); the tracker,
// seeder and second peer are addresses on the "inet" namespace's lo (lib/torrent.ts).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { Lab, waitFor } from './lib/netns.ts';
import type { WarrenNode } from './lib/warren.ts';
import { ADDR, buildGatewayLab, curlFrom, startExit, startHome, type GatewayLab } from './lib/gateway-lab.ts';
import {
  TORRENT_ADDR,
  TORRENT_PORT,
  addTorrent,
  makeTorrent,
  observeTracker,
  peersOf,
  sha256File,
  startTracker,
  startTransmission,
  torrentInfo,
  waitComplete,
  waitVerified,
  type MadeTorrent,
  type Transmission,
} from './lib/torrent.ts';

const SIZE = 200 * 1024 * 1024;

let lab: Lab;
let g: GatewayLab;
let home: WarrenNode;
let exit: WarrenNode;
let torrent: MadeTorrent;
let seeder: Transmission;
let client: Transmission;
/** The exit's TCP port that Transmission on the LAN client got with NAT-PMP. */
let externalPort: number;

/** Records, in the "inet" namespace, who opened TCP connections to the seeder and where the second peer opened them. */
const WATCH = `table ip torrentwatch {
  set to_seeder { type ipv4_addr; flags dynamic; }
  set from_peer2 { type ipv4_addr . inet_service; flags dynamic; }
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr ${TORRENT_ADDR.seeder} tcp dport ${TORRENT_PORT.seeder} ct state new add @to_seeder { ip saddr }
    # The second peer accepts no connection: whatever it exchanges with the LAN client, it dialled.
    ip daddr ${TORRENT_ADDR.peer2} tcp dport ${TORRENT_PORT.peer2} ct state new counter drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    ip saddr ${TORRENT_ADDR.peer2} ip daddr != ${TORRENT_ADDR.tracker} ct state new add @from_peer2 { ip daddr . tcp dport }
  }
}
`;

async function nftSet(name: string): Promise<string[]> {
  const r = await lab.exec(g.ns.inet, ['nft', '-j', 'list', 'set', 'ip', 'torrentwatch', name]);
  const json = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const elems = json.nftables.find((x) => x.set)?.set?.elem ?? [];
  return elems.map((e) => {
    const v = (e as { elem?: { val: unknown } }).elem?.val ?? e;
    if (typeof v === 'string') return v;
    const concat = (v as { concat?: unknown[] }).concat;
    return concat ? concat.join(':') : JSON.stringify(v);
  });
}

/** What `transmission-remote -t 1 -i` says about a daemon's torrent: progress, bytes verified, corrupt. */
async function remoteSummary(t: Transmission): Promise<string> {
  const r = await lab.exec(t.ns, ['transmission-remote', `127.0.0.1:${t.rpcPort}`, '-t', '1', '-i']);
  const lines = r.stdout.split('\n').filter((l) => /^\s*(Percent Done|Have|Corrupt DL):/.test(l)).map((l) => l.trim());
  return `transmission-remote (${t.name}) -t 1 -i: ${lines.join('; ')}`;
}

async function showLogsOnFailure(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    for (const n of [home, exit]) console.log(`--- log tail of ${n.ns} ---\n${n.proc.logTail(30)}`);
    for (const t of [seeder, client]) if (t) console.log(`--- log tail of transmission ${t.name} ---\n${t.proc.logTail(30)}`);
    throw e;
  }
}

beforeAll(async () => {
  lab = await Lab.create('torrent');
  g = await buildGatewayLab(lab);
  for (const a of [TORRENT_ADDR.tracker, TORRENT_ADDR.seeder, TORRENT_ADDR.peer2]) await lab.exec(g.ns.inet, ['ip', 'addr', 'add', `${a}/32`, 'dev', 'lo']);
  await lab.exec(g.ns.inet, ['nft', '-f', '-'], { stdin: WATCH });
  exit = await startExit(lab, g);
  home = await startHome(lab, g);
  // The seeder's data: 200 MB of random bytes, and a public (not private) torrent announced on the lab's tracker.
  torrent = await makeTorrent(lab, join(lab.tmpDir, 'seed'), 'warren-200MB.bin', SIZE);
  await startTracker(lab, g.ns.inet, torrent.infoHash);
  seeder = await startTransmission(lab, { name: 'seeder', ns: g.ns.inet, bind: TORRENT_ADDR.seeder, peerPort: TORRENT_PORT.seeder, portForwarding: false });
  await addTorrent(seeder, torrent.path, torrent.dataDir);
  await waitVerified(seeder, 'the seeder to check its copy', 60_000);
  await waitFor('the seeder to announce itself to the tracker', async () => (await torrentInfo(seeder)).trackerStats[0]?.lastAnnounceSucceeded === true, { timeoutMs: 30_000, intervalMs: 250 });
  await waitFor('the client reaches the web through the exit', () => curlFrom(lab, g.ns.client, `http://${ADDR.web}/`).then((b) => b ?? undefined), { timeoutMs: 30_000, intervalMs: 250 });
}, 150_000);

afterAll(async () => {
  await lab?.cleanup();
});

describe('a torrent through Warren', () => {
  test('Transmission on the LAN client opens its peer port on the exit with NAT-PMP', async () => {
    await showLogsOnFailure(async () => {
      client = await startTransmission(lab, { name: 'client', ns: g.ns.client, bind: ADDR.client, peerPort: TORRENT_PORT.client, portForwarding: true });
      type HomePort = { client: string; proto: string; internal: number; external: number };
      const mapped = await waitFor(
        'the home appliance to list the client\'s peer port',
        async () => ((await home.status()).ports as { home: HomePort[] }).home.find((m) => m.client === ADDR.client && m.proto === 'tcp' && m.internal === TORRENT_PORT.client),
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      externalPort = mapped.external;
      const e = (await exit.status()).ports as { exit: { proto: string; external: number; memberAddr: string }[] };
      expect(e.exit).toContainEqual(expect.objectContaining({ proto: 'tcp', external: externalPort, memberAddr: ADDR.homeOverlay }));
      const said = await waitFor('Transmission to log the forwarded port', () => client.proc.logTail(200).split('\n').find((l) => /NAT-PMP/.test(l) && /forwarded successfully/.test(l)), { timeoutMs: 10_000, intervalMs: 200 });
      console.log(`Transmission: ${said.trim()}\nthe exit holds tcp/${externalPort} for ${ADDR.client}:${TORRENT_PORT.client}`);
    });
  }, 60_000);

  test('the client downloads 200 MB from the seeder through the exit; every piece checks', async () => {
    await showLogsOnFailure(async () => {
      const seenBySeeder = new Set<string>();
      const seenByClient = new Set<string>();
      let done = false;
      const watch = (async () => {
        while (!done) {
          for (const p of await peersOf(seeder).catch(() => [])) seenBySeeder.add(p.address);
          for (const p of await peersOf(client).catch(() => [])) seenByClient.add(p.address);
          await Bun.sleep(250);
        }
      })();
      const t0 = performance.now();
      await addTorrent(client, torrent.path);
      const info = await waitComplete(client, 'the client to download the torrent', 150_000).finally(() => {
        done = true;
      });
      const seconds = (performance.now() - t0) / 1000;
      await watch;
      console.log(`downloaded ${SIZE / 2 ** 20} MiB through Warren in ${seconds.toFixed(1)} s (${((SIZE * 8) / seconds / 1e6).toFixed(0)} Mbit/s)`);
      expect(info.haveValid).toBe(SIZE);
      expect(info.corruptEver).toBe(0); // no piece ever failed its SHA-1 check on arrival
      // Transmission checks each piece against the torrent's SHA-1 as it arrives; check them all
      // again from disk, then compare the whole file with the original.
      const verified = await waitVerified(client, 'the client to re-check every piece from disk', 60_000);
      expect(verified.haveValid).toBe(SIZE);
      expect(verified.pieceCount).toBe(torrent.pieceCount);
      console.log(await remoteSummary(client));
      expect(await sha256File(join(client.downloads, torrent.fileName))).toBe(torrent.sha256);
      // The seeder saw the exit's address, and the client saw the seeder.
      console.log(`peers the seeder listed: ${[...seenBySeeder].join(', ')}; the client: ${[...seenByClient].join(', ')}`);
      expect([...seenBySeeder]).toEqual([ADDR.exitPublic]);
      expect(seenByClient).toContain(TORRENT_ADDR.seeder);
      expect(await nftSet('to_seeder')).toEqual([ADDR.exitPublic]);
    });
  }, 200_000);

  test('the tracker knows the client as the exit\'s address and the port the exit holds', async () => {
    // The client's re-check above stopped and restarted its torrent (announces "stopped", then
    // "started"): wait for it to be back on the tracker.
    let peers: string[] = [];
    await waitFor('the client to be on the tracker', async () => {
      peers = await observeTracker(lab, g.ns.inet, torrent.infoHash);
      return peers.includes(`${ADDR.exitPublic}:${externalPort}`);
    }, { timeoutMs: 30_000, intervalMs: 500 }).catch(() => undefined);
    console.log(`the tracker's peers: ${peers.join(', ')}`);
    expect(peers).toContain(`${ADDR.exitPublic}:${externalPort}`);
    expect(peers).toContain(`${TORRENT_ADDR.seeder}:${TORRENT_PORT.seeder}`);
    for (const p of peers) expect(p).not.toMatch(/^(192\.168\.|10\.|203\.0\.113\.2:)/);
  }, 30_000);

  test('a second peer on the internet gets the whole file from the LAN client alone, through the exit\'s port', async () => {
    await showLogsOnFailure(async () => {
      // The seeder goes away: from now on the LAN client holds the only copy.
      await seeder.stop();
      const peer2 = await startTransmission(lab, { name: 'peer2', ns: g.ns.inet, bind: TORRENT_ADDR.peer2, peerPort: TORRENT_PORT.peer2, portForwarding: false, rpcPort: 9092 });
      const incoming = new Set<string>();
      let done = false;
      const watch = (async () => {
        while (!done) {
          for (const p of await peersOf(client).catch(() => [])) if (p.isIncoming) incoming.add(`${p.address}`);
          await Bun.sleep(250);
        }
      })();
      const t0 = performance.now();
      await addTorrent(peer2, torrent.path);
      const info = await waitComplete(peer2, 'the second peer to download the torrent from the LAN client', 150_000).finally(() => {
        done = true;
      });
      await watch;
      const seconds = (performance.now() - t0) / 1000;
      console.log(`the second peer got ${SIZE / 2 ** 20} MiB from the LAN client through the exit's port in ${seconds.toFixed(1)} s; incoming peers the client listed: ${[...incoming].join(', ')}`);
      expect(info.haveValid).toBe(SIZE);
      expect(info.corruptEver).toBe(0);
      console.log(await remoteSummary(peer2));
      expect(await sha256File(join(peer2.downloads, torrent.fileName))).toBe(torrent.sha256);
      // It dialled the exit's public address at the held port, and the client took it as incoming.
      // (besides itself and the stopped seeder, which the tracker may still list: nothing answers there)
      const dialled = await nftSet('from_peer2');
      expect(dialled).toContain(`${ADDR.exitPublic}:${externalPort}`);
      const others = [`${TORRENT_ADDR.seeder}:${TORRENT_PORT.seeder}`, `${TORRENT_ADDR.peer2}:${TORRENT_PORT.peer2}`];
      expect(dialled.filter((d) => !others.includes(d))).toEqual([`${ADDR.exitPublic}:${externalPort}`]);
      expect(incoming).toContain(TORRENT_ADDR.peer2);
    });
  }, 200_000);
});
