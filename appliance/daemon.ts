// The daemon: wires the device to the real TUN, the UDP socket, the timers and the control
// socket, and takes it all down again on SIGTERM/SIGINT. Closing the TUN removes the
// interface, and with it the addresses and routes Warren added.

import type { Config } from './config/schema.ts';
import { encodeKey } from './config/schema.ts';
import { Device } from './device.ts';
import { formatEndpoint, formatPrefix } from './dataplane/packet/addr.ts';
import { applyLink } from './system/link.ts';
import { systemRunner } from './system/runner.ts';
import { startControlServer } from './control/server.ts';
import { openTun } from '../ffi/tun.ts';
import { TunReader } from '../ffi/tun-reader.ts';
import { findUdpSocketFd, setSocketBuffers } from '../ffi/socket-buffers.ts';
import { OutboundHost } from './dataplane/outbound-host.ts';
import type { OutboundInit } from './dataplane/outbound-protocol.ts';
import { deriveWireKeys } from './wire/keys.ts';
import { DiscoveryService } from './discovery/service.ts';
import { identitySeed } from './discovery/identity.ts';
import type { MemberRecord } from './discovery/record.ts';
import { SharedDhtSocket, looksLikeKrpc } from './discovery/shared-socket.ts';
import { assignAddresses } from './network/addresses.ts';
import { loadNetwork } from './network/store.ts';
import { parsePrefix, parseEndpoint, type Endpoint } from './dataplane/packet/addr.ts';
import { networkInterfaces } from 'node:os';
import { statSync } from 'node:fs';

const TICK_MS = 100;
/** Peers the data plane holds (configured plus discovered). */
const MAX_PEERS = 256;
/** Socket buffers sized for bursts at line rate (the kernel doubles the value for bookkeeping). */
const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

export function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

export async function runDaemon(config: Config): Promise<void> {
  const ifc = config.interface;
  const tun = openTun(ifc.name);
  const startedMs = Date.now();
  let device: Device | undefined;
  let dhtSocket: SharedDhtSocket | null = null;
  let udpErrors = 0;
  const socket = await Bun.udpSocket({
    hostname: '0.0.0.0',
    port: ifc.listenPort,
    socket: {
      data(_s, data, port, address) {
        if (dhtSocket && looksLikeKrpc(data)) dhtSocket.deliver(data, port, address);
        else device?.inbound(data, port, address);
      },
      error(_s, err) {
        // Bun reports ICMP errors (port unreachable while a peer restarts) here, sometimes
        // with no error object. They are expected on a real network: count, never crash.
        udpErrors++;
        if (udpErrors <= 10 || udpErrors % 1000 === 0) log(`udp: ${err instanceof Error ? err.message : String(err)} (${udpErrors} so far)`);
      },
    },
  }).catch((e: Error) => {
    tun.close();
    throw new Error(`cannot listen on UDP port ${ifc.listenPort}: ${e.message} (is another VPN or Warren using it? set interface.listen_port)`);
  });
  const sockFd = findUdpSocketFd(socket.port);
  if (sockFd === null) log('udp: could not find the socket descriptor; keeping the default buffer sizes');
  else {
    const got = setSocketBuffers(sockFd, UDP_BUFFER_BYTES);
    if (got.receive < UDP_BUFFER_BYTES) log(`udp: receive buffer is ${got.receive} bytes (asked ${UDP_BUFFER_BYTES}); bursts may be dropped`);
  }
  // The outbound data plane runs on the TUN worker (dataplane/outbound-worker.ts) unless
  // WARREN_OUTBOUND=main asks for the in-process path (for comparison in benchmarks).
  const host = process.env.WARREN_OUTBOUND !== 'main' && sockFd !== null ? new OutboundHost(MAX_PEERS, ifc.mtu) : null;
  const dev = new Device(config, {
    sendMany: (list) => socket.sendMany(list),
    tunWrite: (pkt) => tun.write(pkt),
    // Absolute milliseconds: the outbound worker shares these times through the send table.
    now: () => performance.timeOrigin + performance.now(),
    log,
    sender: host ?? undefined,
  });
  device = dev;
  try {
    const skipped = applyLink(systemRunner, {
      name: tun.name,
      mtu: ifc.mtu,
      addresses: ifc.addresses,
      routes: config.peers.flatMap((p) => p.allowedIps),
    });
    for (const s of skipped) log(`route ${s} not added: a default route through the overlay needs gateway mode`);
  } catch (e) {
    socket.close();
    tun.close();
    throw e;
  }

  let init: Record<string, unknown> | undefined;
  if (host && sockFd !== null) {
    const keys = config.network ? deriveWireKeys(config.network.secret) : null;
    const zero = new Uint8Array(32);
    const outbound: Omit<OutboundInit, 'fd' | 'ring' | 'batch' | 'pollMs'> = {
      sockFd,
      doorbell: host.doorbell,
      commands: host.commands,
      table: host.table.sab,
      slots: host.slots,
      stats: host.stats,
      wire: { kind: dev.wire.kind, headerKey: keys?.header ?? zero, envelopeKey: keys?.envelope ?? zero, psk: keys?.psk ?? zero, padding: ifc.padding },
      mtu: ifc.mtu,
      rejectAfterMs: config.timers.rejectAfterTime * 1000,
      routes: host.routes.sab,
      routeCapacity: host.routes.capacity,
    };
    init = outbound;
  }
  const reader = new TunReader(tun.fd, {
    slotSize: Math.max(2048, ifc.mtu + 64),
    worker: host ? new URL('./dataplane/outbound-worker.ts', import.meta.url) : undefined,
    init,
  });
  reader.start(
    (packets, count) => dev.outbound(packets, count),
    (err) => {
      log(`tun: ${err.message}; stopping`);
      void shutdown(1);
    },
  );
  const timer = setInterval(() => dev.tick(), TICK_MS);
  const control = startControlServer(config.control.socket, {
    status: () => ({
      interface: tun.name,
      wire: dev.wire.kind,
      network: config.network?.name ?? null,
      publicKey: encodeKey(dev.identity.publicKey),
      listenPort: socket.port,
      uptimeSeconds: Math.round((Date.now() - startedMs) / 1000),
      rssBytes: process.memoryUsage.rss(),
      counters: { ...dev.counters, udpErrors },
      tun: { written: tun.stats.written, dropped: tun.stats.dropped, read: reader.stats },
      outbound: host ? { worker: true, ...host.counters() } : { worker: false },
      discovery: discovery ? { ...discovery.stats } : null,
      peers: dev.peers.map((p) => ({
        name: p.name,
        publicKey: encodeKey(p.publicKey),
        endpoint: p.endpoint ? formatEndpoint(p.endpoint) : null,
        allowedIps: p.allowedIps.map(formatPrefix),
        handshakes: p.stats.handshakes,
        lastHandshakeSecondsAgo: p.stats.lastHandshakeMs ? Math.round((performance.now() - p.stats.lastHandshakeMs) / 1000) : null,
        rxBytes: p.stats.rxBytes,
        txBytes: p.stats.txBytes,
        rxPackets: p.stats.rxPackets,
        txPackets: p.stats.txPackets,
        sessionIndex: p.current?.localIndex ?? null,
        cipher: p.current?.cipher ?? null,
      })),
    }),
  });
  if (config.discovery && config.network) dhtSocket = new SharedDhtSocket({ send: (d, p, a) => socket.send(d, p, a), port: socket.port });
  const discovery = dhtSocket ? startDiscovery(config, dev, socket.port, tun.name, dhtSocket) : null;
  if (discovery) await discovery.start();
  dev.start();
  // Start-up garbage (config parsing, compiling, key derivation) is collected once, so an idle
  // appliance's RSS is what it keeps, not what it passed through.
  setTimeout(() => Bun.gc(true), 2000).unref();
  log(`warren: ${tun.name} up, listening on UDP ${socket.port}, public key ${encodeKey(dev.identity.publicKey)}, ${config.peers.length} peer(s)`);

  let down = false;
  async function shutdown(code: number): Promise<void> {
    if (down) return;
    down = true;
    clearInterval(timer);
    control.stop();
    await discovery?.stop();
    host?.close();
    await reader.stop();
    host?.dispose();
    socket.close();
    tun.close();
    log('warren: stopped');
    process.exit(code);
  }
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
}

/**
 * Members found on the DHT become peers: at their overlay addresses (derived from their keys),
 * reached at the endpoints their records list. A member revoked in the network file is ignored;
 * with `require_approval`, only approved members are added.
 */
function startDiscovery(config: Config, dev: Device, udpPort: number, tunName: string, dhtSocket: SharedDhtSocket): DiscoveryService {
  const net = config.network!;
  const d = config.discovery!;
  const self = dev.identity.publicKey;
  const known = (): Uint8Array[] => [self, ...dev.peers.map((p) => p.publicKey)];
  const observed = new Map<string, Endpoint>();
  // The network file is read again only when it changed (approve/revoke edit it while the
  // daemon runs), not for every record of every lookup round.
  let members: { mtimeMs: number; network: ReturnType<typeof loadNetwork> } | null = null;
  const allowed = (key: string): boolean => {
    if (!net.file) return true;
    try {
      const mtimeMs = statSync(net.file).mtimeMs;
      if (!members || members.mtimeMs !== mtimeMs) members = { mtimeMs, network: loadNetwork(net.file) };
      const file = members.network;
      if (file.revoked.some((m) => m.key === key)) return false;
      return !file.requireApproval || file.approved.some((m) => m.key === key);
    } catch {
      return true; // the file was read at start; a broken edit does not cut the network off
    }
  };
  const onMember = (r: MemberRecord): void => {
    const keyText = encodeKey(r.staticKey);
    if (Buffer.from(r.staticKey).equals(Buffer.from(self)) || !allowed(keyText)) return;
    const ep = r.endpoints.map((e) => parseEndpoint(`${e.ip.includes(':') ? `[${e.ip}]` : e.ip}:${e.port}`)).find((e) => e?.family === 4) ?? null;
    let peer = dev.peerByKey(r.staticKey);
    if (!peer) {
      const a = assignAddresses(r.staticKey, known(), net.secret);
      const allowedIps = [parsePrefix(`${a.ipv4}/32`), parsePrefix(`${a.ipv6}/128`)].filter((p) => p !== null);
      peer = dev.addPeer({
        name: `member-${keyText.slice(0, 8)}`,
        publicKey: r.staticKey,
        presharedKey: new Uint8Array(32),
        endpoint: null,
        allowedIps,
        persistentKeepalive: 25,
      }) ?? undefined;
      if (peer) log(`discovery: member ${keyText.slice(0, 8)}… at ${a.ipv4}, endpoints ${r.endpoints.map((e) => `${e.ip}:${e.port}`).join(' ')}`);
    }
    // Once a member's tunnel socket has been seen from outside (its announce), that address is
    // the candidate: its record's LAN addresses do not reach it through a NAT.
    const seenAt = observed.get(keyText);
    if (peer && (seenAt ?? ep)) dev.offerEndpoint(peer, (seenAt ?? ep)!);
    // Not heard from yet: it may be behind a NAT, where the LAN endpoints of its record do not
    // reach it. The address its tunnel socket is seen at (its announce) does; both sides sending
    // to each other's opens the NAT mappings (hole punching).
    if (peer && peer.lastReceivedMs === 0) {
      const target = peer;
      void service.observedEndpoints(r.staticKey).then((seen) => {
        for (const text of seen) {
          const e = parseEndpoint(text);
          if (!e || target.lastReceivedMs > 0) continue;
          observed.set(keyText, e);
          dev.offerEndpoint(target, e);
        }
      });
    }
  };
  const service: DiscoveryService = new DiscoveryService({
    secret: net.secret,
    staticKey: self,
    identitySeed: identitySeed(config.interface.privateKey),
    endpoints: () => ownEndpoints(udpPort, tunName),
    dht: { bootstrap: d.bootstrap ?? undefined, labRanges: d.labRanges, socket: dhtSocket },
    lookupIntervalMs: d.lookupInterval * 1000,
    onMember,
    log,
  });
  return service;
}

/** This node's candidate endpoints: every IPv4 address of its other interfaces, at the tunnel's UDP port. */
function ownEndpoints(port: number, tunName: string): { ip: string; port: number; kind: 'lan' }[] {
  const out: { ip: string; port: number; kind: 'lan' }[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (name === tunName) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push({ ip: a.address, port, kind: 'lan' });
  }
  return out.slice(0, 8);
}
