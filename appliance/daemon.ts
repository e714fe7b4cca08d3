// The daemon: wires the device to the real TUN, the UDP socket, the timers and the control
// socket, and takes it all down again on SIGTERM/SIGINT. Closing the TUN removes the
// interface, and with it the addresses and routes Warren added.

import { readFileSync } from 'node:fs';
import type { Config } from './config/schema.ts';
import { decodeKey, encodeKey } from './config/schema.ts';
import { Device, pexEntriesFor } from './device.ts';
import { formatEndpoint, formatPrefix } from './dataplane/packet/addr.ts';
import { applyLink, isWarrenInterface } from './system/link.ts';
import { systemRunner } from './system/runner.ts';
import { startControlServer } from './control/server.ts';
import { openTun } from '../ffi/tun.ts';
import { TunReader } from '../ffi/tun-reader.ts';
import { setSocketBuffers } from '../ffi/socket-buffers.ts';
import { bunSocket, workerSocket, type TunnelSocket } from './dataplane/tunnel-socket.ts';
import { OutboundHost } from './dataplane/outbound-host.ts';
import { IN_OPENED, type OutboundInit } from './dataplane/outbound-protocol.ts';
import type { DiscoveryService } from './discovery/service.ts';
import { identitySeed } from './discovery/identity.ts';
import type { Endpoint as RecordEndpoint, MemberRecord } from './discovery/record.ts';
import { acceptSubnets, syncSubnetRoutes } from './gateway/sites.ts';
import type { Peer } from './session/peer.ts';
import type { SharedDhtSocket } from './discovery/shared-socket.ts';
import { Membership } from './network/membership.ts';
import { SecretRotation } from './network/rotation.ts';
import { formatIp, parseEndpoint, parsePrefix, type Endpoint, type Prefix } from './dataplane/packet/addr.ts';
import { networkInterfaces } from 'node:os';
import { dirname } from 'node:path';
import { GatewayController, circuitTunName, circuitsWanted, ownSubnets } from './gateway/gateway.ts';
import { ExitChooser } from './gateway/exit-choice.ts';
import type { PortService, PortStatus } from './gateway/port-service.ts';
import type { LeakReport } from './gateway/leak-test.ts';
import { CIRCUIT_MTU, CIRCUIT_POOL, CIRCUIT_TUN_ADDRESS, CircuitEngine } from './circuit/engine.ts';
import { CircuitManager } from './circuit/manager.ts';
import { PathChooser } from './discovery/paths.ts';
import { warmDevicePaths, warmupEnabled } from './warmup.ts';
import { PROBE_INTERVAL_MS } from './session/quality.ts';
import { deviceExits, hopsOf } from './config/gateway.ts';

const TICK_MS = 100;
/** Live peers are probed for round trip and loss every 2 s, the exit every second (this block
 * runs every 10 ticks: session/quality.ts). */
const PROBE_TICKS = PROBE_INTERVAL_MS / TICK_MS;
/** Socket buffers sized for bursts at line rate (the kernel doubles the value for bookkeeping). */
const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

let logSink = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);

export function log(line: string): void {
  logSink(line);
}

export interface DaemonOptions {
  /** Where log lines go (default: stderr, timestamped); the appliance tees them into the admin's ring. */
  log?: (line: string) => void;
  /** More control-socket routes (the appliance's `warren devices` and `warren exit`). */
  controlRoutes?: Record<string, (body: unknown) => Promise<unknown>>;
}

/** The running daemon, for the appliance's web admin (cli/appliance.ts). */
export interface DaemonHandle {
  status(): DaemonStatus;
  /** The owner changed settings: the firewall, exit choice and offers follow at once. */
  reconfigure(next: Config): void;
  /** The admin's leak self-test (gateway/leak-test.ts). */
  leakTest(): Promise<LeakReport>;
}

export type DaemonStatus = ReturnType<typeof buildStatus>;

/** The /status object (also what `warren status --json` prints and the admin reads). */
function buildStatus(d: {
  config: Config; dev: Device; tunName: string; port: number; startedMs: number; udpErrors: number; udpSendShort: number;
  tun: { written: number; dropped: number }; reader: unknown; outbound: Record<string, unknown>; discovery: Record<string, unknown> | null; dnsRunning: boolean;
  ports: PortStatus | null;
  circuits: Record<string, unknown>;
  secret: ReturnType<SecretRotation<Peer>['status']> | null;
}) {
  const { config, dev } = d;
  return {
    interface: d.tunName,
    interfaceAddresses: config.interface.addresses.map(formatPrefix),
    wire: dev.wire.kind,
    network: config.network?.name ?? null,
    /** The network secret: its generation, and after a rotation until when the previous one is accepted. */
    secret: d.secret,
    publicKey: encodeKey(dev.identity.publicKey),
    listenPort: d.port,
    uptimeSeconds: Math.round((Date.now() - d.startedMs) / 1000),
    rssBytes: process.memoryUsage.rss(),
    counters: { ...dev.counters, udpErrors: d.udpErrors, udpSendShort: d.udpSendShort },
    tun: { written: d.tun.written, dropped: d.tun.dropped, read: d.reader },
    outbound: d.outbound,
    discovery: d.discovery,
    gateway: config.gateway
      ? { exit: dev.exitPeer ? { name: dev.exitPeer.name, publicKey: encodeKey(dev.exitPeer.publicKey) } : null, dns: d.dnsRunning, killSwitch: config.gateway.killSwitch }
      : null,
    exitOffered: config.exit !== null,
    /** Inbound ports: what this exit holds for members, what this appliance's devices hold. */
    ports: d.ports,
    /** Onion circuits: this source's, and how many this node carries for others. */
    circuits: d.circuits,
    /** The kernel's connection tracking, which every flow through a gateway or exit costs an entry of. */
    conntrack: config.gateway || config.exit ? conntrackFigures() : null,
    /** Where members see this node (peer exchange): its public endpoints, as they reflect them. */
    reflected: [...new Set([...reflected.values()].map(formatEndpoint))],
    peers: dev.peers.map((p) => ({
      name: p.name,
      publicKey: encodeKey(p.publicKey),
      endpoint: p.endpoint ? formatEndpoint(p.endpoint) : null,
      allowedIps: p.allowedIps.map(formatPrefix),
      handshakes: p.stats.handshakes,
      lastHandshakeSecondsAgo: p.stats.lastHandshakeMs ? Math.round((performance.timeOrigin + performance.now() - p.stats.lastHandshakeMs) / 1000) : null,
      path: (p.endpoint?.relay ? 'relay' : 'direct') as 'relay' | 'direct',
      rxBytes: p.stats.rxBytes,
      txBytes: p.stats.txBytes,
      rxPackets: p.stats.rxPackets,
      txPackets: p.stats.txPackets,
      sessionIndex: p.current?.localIndex ?? null,
      cipher: p.current?.cipher ?? null,
      ...p.quality.figures(performance.timeOrigin + performance.now()),
    })),
  };
}

/**
 * Entries in this namespace's connection tracking table and the kernel's limit (shared by all
 * namespaces; only the host can raise it: net.netfilter.nf_conntrack_max). null where unreadable.
 */
function conntrackFigures(): { count: number; max: number } | null {
  try {
    const read = (f: string) => Number(readFileSync(`/proc/sys/net/netfilter/${f}`, 'utf8').trim());
    return { count: read('nf_conntrack_count'), max: read('nf_conntrack_max') };
  } catch {
    return null;
  }
}

/** Where members see this node (peer exchange reflects it), by member: published in the record. */
const reflected = new Map<string, Endpoint>();

export async function runDaemon(config: Config, opts: DaemonOptions = {}): Promise<DaemonHandle> {
  if (opts.log) logSink = opts.log;
  let live = config;
  const ifc = config.interface;
  // The firewall and its kill switch first: from here on an overlay device's packets reach the
  // overlay or nothing (gateway/gateway.ts).
  const gateway = new GatewayController(config, { run: systemRunner, log, runDir: dirname(config.control.socket) });
  gateway.prepare();
  const tun = openTun(ifc.name);
  const startedMs = Date.now();
  let device: Device | undefined;
  let dhtSocket: SharedDhtSocket | null = null;
  /** shared-socket.ts's looksLikeKrpc, once discovery is loaded (only then are DHT messages expected). */
  let looksLikeKrpc: (d: Uint8Array) => boolean = () => false;
  let udpErrors = 0;
  /** Datagrams the socket did not take (its send buffer full): sendMany sent fewer than asked. */
  let udpSendShort = 0;
  // The data plane runs on its own thread (dataplane/outbound-loop.ts), which owns the UDP
  // socket and receives on it, unless WARREN_OUTBOUND=main asks for the in-process path (Bun's
  // socket, everything on this thread; for comparison in benchmarks).
  const onWorker = process.env.WARREN_OUTBOUND !== 'main';
  /** A datagram that reaches this thread: DHT messages to discovery, the rest to the device. */
  const deliver = (data: Uint8Array, port: number, address: string): void => {
    if (dhtSocket && looksLikeKrpc(data)) dhtSocket.deliver(data, port, address);
    else device?.inbound(data, port, address);
  };
  const onUdpError = (err: unknown): void => {
    // ICMP errors (port unreachable while a peer restarts) are expected on a real network:
    // count, never crash.
    udpErrors++;
    if (udpErrors <= 10 || udpErrors % 1000 === 0) log(`udp: ${err instanceof Error ? err.message : 'an ICMP error (a peer or DHT node unreachable)'} (${udpErrors} so far)`);
  };
  let socket: TunnelSocket;
  try {
    socket = onWorker
      ? workerSocket(ifc.listenPort, onUdpError)
      : await bunSocket(ifc.listenPort, deliver, onUdpError);
  } catch (e) {
    tun.close();
    throw new Error(`cannot listen on UDP port ${ifc.listenPort}: ${(e as Error).message} (is another VPN or Warren using it? set interface.listen_port)`);
  }
  const sendAll = (list: (Uint8Array | number | string)[]): void => {
    const sent = socket.sendMany(list);
    if (sent * 3 < list.length) udpSendShort += list.length / 3 - sent;
  };
  const sockFd = socket.fd;
  if (sockFd === null) log('udp: could not find the socket descriptor; keeping the default buffer sizes');
  else {
    const got = setSocketBuffers(sockFd, UDP_BUFFER_BYTES);
    if (got.receive < UDP_BUFFER_BYTES) log(`udp: receive buffer is ${got.receive} bytes (asked ${UDP_BUFFER_BYTES}); bursts may be dropped`);
  }
  const host = onWorker && sockFd !== null ? new OutboundHost(config.limits.maxPeers, ifc.mtu) : null;
  const membership = config.network ? new Membership(config.network, log, undefined, config.limits.maxPendingMembers) : null;
  let ports: PortService | null = null;
  const dev: Device = new Device(config, {
    sendMany: (list) => sendAll(list),
    tunWrite: (pkt) => tun.write(pkt),
    // Absolute milliseconds: the outbound worker shares these times through the send table.
    now: () => performance.timeOrigin + performance.now(),
    log,
    sender: host ?? undefined,
    receiver: host && socket.onWorker ? host : undefined,
    // On the native wire (only holders of the secret complete a handshake), an approved member
    // that reaches us first is admitted; an unknown one is recorded as pending.
    // Under the previous secret (after a rotation) only members approved before come in.
    admitInitiator: (key, previous) => ifc.wire === 'native' && membership && (previous ? membership.isApproved(key) : membership.admits(key)) ? membership.peerConfig(key, knownKeys(dev)) : null,
    // Peer exchange: members a member told us of, if our own file approves them.
    onPeerExchange: (from, entries) => {
      if (!membership) return;
      for (const e of entries) {
        if (Buffer.from(e.publicKey).equals(Buffer.from(dev.identity.publicKey))) {
          // A member reflects the address it sees us at: our public endpoint, for our record.
          if (e.endpoint) reflected.set(encodeKey(from.publicKey), e.endpoint);
          continue;
        }
        if (!membership.isApproved(e.publicKey)) continue;
        let peer = dev.peerByKey(e.publicKey);
        if (!peer) {
          peer = dev.addPeer(membership.peerConfig(e.publicKey, knownKeys(dev))) ?? undefined;
          if (peer) log(`pex: ${from.name} told us of ${peer.name}${e.endpoint ? ` at ${formatEndpoint(e.endpoint)}` : ''}`);
        }
        if (peer && e.endpoint) dev.offerEndpoint(peer, e.endpoint);
      }
    },
    onCircuit: (from, msg) => circuits.onLink(from, msg),
    onControl: (from, msg) => {
      const m = msg as Record<string, unknown>;
      if (!rotation?.onControl(from, m) && !ports?.onControl(from, m)) dev.counters.dropMalformed++;
    },
  });
  device = dev;
  // A rotation of the network secret (network/rotation.ts): the daemon follows the network file.
  const rotation = config.network?.file && ifc.wire === 'native' && membership
    ? new SecretRotation<Peer>({
      file: config.network.file,
      dev,
      isApproved: (k) => membership.isApproved(k),
      onSecrets: (secret, previous) => discovery?.setSecrets(secret, previous),
      log,
    }, config.network.secret)
    : null;
  // Onion circuits (circuit/engine.ts): every node carries them as a relay or ends them as an
  // exit when its settings say so; a source keeps circuits for its devices of 2–3 hops.
  let circuitTun: ReturnType<typeof openTun> | null = null;
  const circuits: CircuitEngine = new CircuitEngine({
    get peers() {
      return dev.peers;
    },
    peerByKey: (k) => dev.peerByKey(k),
    sendLink: (p, m) => dev.sendLink(p, m),
    flush: () => dev.flush(),
    staticPrivate: config.interface.privateKey,
    now: () => performance.timeOrigin + performance.now(),
    log,
    canRelay: () => live.relay.enabled,
    canExit: () => live.exit !== null,
    maxCircuits: () => live.limits.maxCircuits,
    carryFor: (p, bytes) => dev.carryFor(p, bytes),
    tunWrite: (pkt) => circuitTun?.write(pkt) ?? false,
  });
  // The receive path optimised before the first real packet (warmup.ts says why;
  // WARREN_WARMUP=0 skips it, for comparison in benchmarks).
  if (warmupEnabled()) {
    const warm = warmDevicePaths({ wire: ifc.wire, padding: ifc.padding, cipher: ifc.cipher, mtu: ifc.mtu, worker: host !== null });
    Bun.gc(true); // its garbage, so the idle appliance does not carry it
    if (warm.delivered !== warm.sent) log(`warm-up: ${warm.delivered} of ${warm.sent} packets went through (the data plane may be slow at first)`);
  }
  try {
    const skipped = applyLink(systemRunner, {
      name: tun.name,
      mtu: ifc.mtu,
      addresses: ifc.addresses,
      routes: config.peers.flatMap((p) => p.allowedIps),
    });
    for (const s of skipped) if (!config.gateway) log(`route ${s} not added: a default route through the overlay needs gateway mode`);
    gateway.tunUp(tun.name);
    if (circuitsWanted(config) && ifc.wire === 'native') {
      circuitTun = openTun(circuitTunName(tun.name));
      // An address of its own: the kernel's reverse-path check fails every packet arriving on an
      // interface with none (even in loose mode), and replies arrive on this one.
      applyLink(systemRunner, { name: circuitTun.name, mtu: CIRCUIT_MTU, addresses: [parsePrefix(CIRCUIT_TUN_ADDRESS)!], routes: [] });
      gateway.circuitTunUp(circuitTun.name, config.exit ? CIRCUIT_POOL.prefix : null);
    }
  } catch (e) {
    circuitTun?.close();
    socket.close();
    tun.close();
    throw e;
  }

  let init: Record<string, unknown> | undefined;
  if (host && sockFd !== null) {
    const outbound: Omit<OutboundInit, 'fd' | 'ring' | 'batch' | 'pollMs'> = {
      sockFd,
      doorbell: host.doorbell,
      commands: host.commands,
      table: host.table.sab,
      slots: host.slots,
      stats: host.stats,
      wire: { kind: dev.wire.kind, headerKeys: host.wireKeys.sab, padding: ifc.padding },
      mtu: ifc.mtu,
      rejectAfterMs: config.timers.rejectAfterTime * 1000,
      routes: host.routes.sab,
      routeCapacity: host.routes.capacity,
      ...(socket.onWorker ? { udpFd: sockFd, recv: host.recv.sab, recvCapacity: host.recv.capacity, rx: host.recv.rxSab, inbound: host.inbound } : {}),
    };
    init = outbound;
    // What the worker does not deliver itself: handshakes, DHT messages, and data messages it
    // opened that are not plain IP packets for a known endpoint.
    if (socket.onWorker) {
      void host.receive((kind, data, port, ip, index, receivedMs) => {
        const address = `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
        if (kind === IN_OPENED) dev.inboundOpened(data, index, port, address, receivedMs);
        else deliver(data, port, address);
      });
    }
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
  const exits = config.gateway ? new ExitChooser(config.gateway.exit, dev) : null;
  /** The exits devices name (from the config in effect), as peers: a member found later takes
   * its place within a second. */
  const exitKeysOf = (c: Config): Uint8Array[] => (c.gateway ? deviceExits(c.gateway.devices) : []).map((k) => decodeKey(k, 'gateway.device.exit'));
  let deviceExitKeys = exitKeysOf(live);
  const syncDeviceExits = (): void => dev.setDeviceExits(deviceExitKeys.map((k) => dev.peerByKey(k) ?? null));
  syncDeviceExits();
  const paths = new PathChooser();
  // Configured members marked `relay = true` offer relaying as a discovery record would say.
  for (const pc of config.peers) if (pc.relay) paths.offer(pc.publicKey, true);
  const circuitManager = new CircuitManager(circuits, {
    get peers() {
      return dev.peers;
    },
    offersRelay: (p) => paths.offersRelay(p),
    exits: () => exits?.candidates() ?? [],
    fixedPath: () => {
      const path = live.gateway?.circuitPath ?? [];
      return path.length > 0 ? path.map((k) => decodeKey(k, 'gateway.circuit_path')) : null;
    },
    now: () => performance.timeOrigin + performance.now(),
    log,
  });
  const circuitHops = (c: Config): (2 | 3)[] => {
    const g = c.gateway;
    if (!g || !circuitTun) return [];
    const used = new Set<number>(g.devices.map((d) => hopsOf(d, g)));
    if (g.defaultPolicy === 'overlay') used.add(g.hops);
    if (g.circuitPath.length > 0 && [...used].some((h) => h > 1)) return [g.circuitPath.length as 2 | 3];
    return ([2, 3] as const).filter((h) => used.has(h));
  };
  circuitManager.setWanted(circuitHops(config));
  const circuitReader = circuitTun ? new TunReader(circuitTun.fd, { slotSize: 2048 }) : null;
  circuitReader?.start(
    (packets, count) => {
      for (let i = 0; i < count; i++) {
        const pkt = packets[i]!;
        circuits.fromTun(pkt, circuitManager.circuitFor(pkt));
      }
      dev.flush();
    },
    (err) => log(`circuit tun: ${err.message}`),
  );
  // Inbound ports: NAT-PMP for the LAN, forwards on the exit (gateway/port-service.ts).
  // Loaded only where it is used: an appliance that is neither keeps its memory.
  ports = config.gateway || config.exit ? new (await import('./gateway/port-service.ts')).PortService(config, { dev, gateway, run: systemRunner, log }) : null;
  let ticks = 0;
  const timer = setInterval(() => {
    dev.tick();
    if (++ticks % 10 !== 0) return;
    const now = performance.timeOrigin + performance.now();
    dev.sampleQuality(now);
    syncDeviceExits();
    for (const p of dev.peers) if (ticks % PROBE_TICKS === 0 || p === dev.exitPeer) dev.probe(p, now);
    exits?.tick(now);
    void ports?.tick().catch((e: Error) => log(`ports: ${e.message}`));
    circuits.tick();
    circuitManager.tick();
    if (config.network && ifc.wire === 'native') {
      paths.tick(dev, now);
      if (ticks % PEX_TICKS === 0) exchangePeers(dev, now);
    }
    rotation?.tick();
    // A member revoked while connected is dropped at once (the file is re-read only when it changed).
    if (membership && ticks % 20 === 0) {
      const revoked = new Set(membership.revoked());
      for (const p of [...dev.peers]) if (revoked.has(encodeKey(p.publicKey))) dev.removePeer(p);
    }
  }, TICK_MS);
  const statusNow = () => buildStatus({
    config: live, dev, tunName: tun.name, port: socket.port, startedMs, udpErrors, udpSendShort,
    tun: tun.stats, reader: reader.stats,
    outbound: host ? { worker: true, ...host.counters() } : { worker: false },
    discovery: discovery ? { ...discovery.stats, lan: discovery.lanStats() } : null,
    secret: rotation?.status() ?? null,
    dnsRunning: gateway.dnsRunning,
    ports: ports?.status() ?? null,
    circuits: { sources: circuitManager.status(), carried: circuits.carried(), counters: { ...circuits.counters } },
  });
  const control = startControlServer(config.control.socket, {
    shutdown: () => void shutdown(0),
    status: statusNow,
    routes: opts.controlRoutes,
  });
  // Discovery (the DHT library and its dependencies) is loaded only where it is configured: an
  // appliance without it keeps its memory.
  if (config.discovery && config.network) {
    const shared = await import('./discovery/shared-socket.ts');
    looksLikeKrpc = shared.looksLikeKrpc;
    dhtSocket = new shared.SharedDhtSocket({ send: (d, p, a) => socket.send(d, p, a), port: socket.port });
  }
  const discovery = dhtSocket && membership ? await startDiscovery(config, dev, membership, socket.port, tun.name, dhtSocket, exits, paths, {
    get relay() {
      return live.relay.enabled;
    },
    get exit() {
      return live.exit !== null;
    },
  }) : null;
  if (discovery) {
    if (config.network?.previous) discovery.setSecrets(config.network.secret, config.network.previous.secret);
    await discovery.start();
  }
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
    ports?.close();
    await circuitReader?.stop();
    circuitTun?.close();
    control.stop();
    await gateway.stop(); // dnsmasq; the firewall and rules stay until `warren down`
    await discovery?.stop();
    host?.close();
    await reader.stop();
    host?.dispose();
    socket.close(); // after the worker stopped: it polls the socket
    tun.close();
    log('warren: stopped');
    process.exit(code);
  }
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
  return {
    status: statusNow,
    leakTest: async () => {
      const g = live.gateway;
      const exitPeer = dev.exitPeer;
      // Loaded on demand: node:http(s) cost an idle appliance megabytes it never uses otherwise.
      const { runLeakTest } = await import('./gateway/leak-test.ts');
      const overlay4 = live.interface.addresses.find((p) => p.family === 4);
      return runLeakTest({
        url: live.admin.leakTestUrl,
        overlay: overlay4 ? formatIp(overlay4.bytes) : null,
        tun: tun.name,
        resolvers: g?.dns.enabled ? g.dns.upstream : [],
        redirectDns: g?.dns.enabled ?? false,
        exitName: exitPeer?.name ?? null,
        exitAddress: async () => (exitPeer && ports ? ports.exitWanAddress(encodeKey(exitPeer.publicKey)) : null),
        run: systemRunner,
      });
    },
    reconfigure(next: Config): void {
      const before = live;
      live = next;
      try {
        gateway.update(next);
      } catch (e) {
        log(`settings: ${(e as Error).message}`);
      }
      exits?.setWant(next.gateway?.exit ?? 'auto');
      ports?.reconfigure(next);
      circuitManager.setWanted(circuitHops(next));
      deviceExitKeys = exitKeysOf(next);
      syncDeviceExits();
      if ((before.exit === null) !== (next.exit === null)) discovery?.republishSoon();
      if (before.interface.padding !== next.interface.padding) log(`settings: padding "${next.interface.padding}" takes effect when Warren next starts`);
      if (before.gateway?.dns.enabled !== next.gateway?.dns.enabled) log('settings: the DNS change takes effect when Warren next starts');
    },
  };
}

/**
 * Members found on the DHT become peers: at their overlay addresses (derived from their keys),
 * reached at the endpoints their records list. Only approved members are added; a device the
 * network file does not list yet is recorded there as pending (membership.ts).
 */
async function startDiscovery(config: Config, dev: Device, membership: Membership, udpPort: number, tunName: string, dhtSocket: SharedDhtSocket, exits: ExitChooser | null, paths: PathChooser, liveOffers: { readonly relay: boolean; readonly exit: boolean }): Promise<DiscoveryService> {
  const [{ DiscoveryService }, { LanBeacon }, { MAX_ENDPOINTS }] = await Promise.all([import('./discovery/service.ts'), import('./discovery/lan.ts'), import('./discovery/record.ts')]);
  const d = config.discovery!;
  const self = dev.identity.publicKey;
  const observed = new Map<string, Endpoint>();
  const probedAt = new Map<Peer, number>();
  const onMember = (r: MemberRecord): void => {
    const keyText = encodeKey(r.staticKey);
    if (Buffer.from(r.staticKey).equals(Buffer.from(self)) || !membership.admits(r.staticKey)) return;
    exits?.offer(r.staticKey, r.offers.exit);
    paths.offer(r.staticKey, r.offers.relay);
    const ep = r.endpoints.filter((e) => e.kind !== 'subnet').map((e) => parseEndpoint(`${e.ip.includes(':') ? `[${e.ip}]` : e.ip}:${e.port}`)).find((e) => e?.family === 4) ?? null;
    let peer = dev.peerByKey(r.staticKey);
    if (!peer) {
      const pc = membership.peerConfig(r.staticKey, knownKeys(dev));
      peer = dev.addPeer(pc) ?? undefined;
      if (peer) log(`discovery: member ${keyText.slice(0, 8)}… at ${pc.allowedIps.map(formatPrefix).join(' ')}, endpoints ${r.endpoints.map((e) => `${e.ip}:${e.port}`).join(' ')}`);
    }
    if (peer) shareSubnets(peer, r.endpoints.filter((e) => e.kind === 'subnet').map((e) => parsePrefix(`${e.ip}/${e.port}`)).filter((p) => p !== null));
    // Once a member's tunnel socket has been seen from outside (its announce), that address is
    // the candidate: its record's LAN addresses do not reach it through a NAT.
    const seenAt = observed.get(keyText);
    if (peer && (seenAt ?? ep)) dev.offerEndpoint(peer, (seenAt ?? ep)!);
    // Reached through a relay: now and then try the direct candidates again (both sides do), so
    // traffic moves to a direct path once one opens.
    if (peer?.endpoint?.relay) {
      const target = peer;
      const last = probedAt.get(target) ?? 0;
      if (Date.now() - last >= PROBE_DIRECT_MS) {
        probedAt.set(target, Date.now());
        if (ep) dev.probeDirect(target, ep);
        void service.observedEndpoints(r.staticKey).then((seen) => {
          for (const text of seen) {
            const e = parseEndpoint(text);
            if (e) dev.probeDirect(target, e);
          }
        });
      }
    }
    // Not heard from yet: it may be behind a NAT, where the LAN endpoints of its record do not
    // reach it. The address its tunnel socket is seen at (its announce) does; both sides sending
    // to each other's opens the NAT mappings (hole punching).
    if (peer && peer.lastReceivedMs === 0) {
      const target = peer;
      // Where other members see it (reflected by peer exchange, published in its record).
      for (const pub of r.endpoints.filter((e) => e.kind === 'public')) {
        const e = parseEndpoint(`${pub.ip}:${pub.port}`);
        if (e && target.lastReceivedMs === 0) dev.offerEndpoint(target, e);
      }
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
  /** A member's shared LANs (site-to-site), unless they clash with ours or another member's. */
  const shareSubnets = (peer: Peer, offered: Prefix[]): void => {
    const local = [...ownSubnets(tunName, networkInterfaces()), ...config.interface.advertise];
    const taken = dev.peers.filter((p) => p !== peer).flatMap((p) => [...p.allowedIps, ...p.subnets]);
    const { accepted, refused } = acceptSubnets(offered, local, taken);
    const before = peer.subnets;
    if (!dev.setSubnets(peer, accepted)) return;
    for (const x of refused) log(`site: ${peer.name} shares ${formatPrefix(x)}, which overlaps a network here; not routed`);
    try {
      syncSubnetRoutes(systemRunner, tunName, before, accepted);
      if (accepted.length) log(`site: ${peer.name} shares ${accepted.map(formatPrefix).join(' ')}`);
    } catch (e) {
      log(`site: ${(e as Error).message}`);
    }
  };
  const endpoints = () => ownEndpoints(MAX_ENDPOINTS, udpPort, tunName, config.interface.advertise);
  const lan = d.lan
    ? new LanBeacon({ secret: config.network!.secret, staticKey: self, identitySeed: identitySeed(config.interface.privateKey), tunName, endpoints, offers: liveOffers, onMember, log })
    : undefined;
  const service: DiscoveryService = new DiscoveryService({
    secret: config.network!.secret,
    staticKey: self,
    identitySeed: identitySeed(config.interface.privateKey),
    endpoints,
    offers: liveOffers,
    lan,
    dht: { bootstrap: d.bootstrap ?? undefined, labRanges: d.labRanges, socket: dhtSocket, maxValues: config.limits.dhtMaxValues },
    lookupIntervalMs: d.lookupInterval * 1000,
    onMember,
    log,
  });
  return service;
}

/** How often a relayed member's direct candidates are tried again. */
const PROBE_DIRECT_MS = 10_000;

/** Every 5 s (in 100 ms ticks): each member with a live session hears of the others we reach. */
const PEX_TICKS = 50;
const PEX_ALIVE_MS = 60_000;

function exchangePeers(dev: Device, now: number): void {
  const alive = dev.peers.filter((p) => p.current && p.lastReceivedMs > 0 && now - p.lastReceivedMs < PEX_ALIVE_MS);
  for (const to of alive) dev.sendPeerExchange(to, pexEntriesFor(to, alive));
}

/** This node's key and its peers' keys: the set overlay addresses are assigned among. */
function knownKeys(dev: Device): Uint8Array[] {
  return [dev.identity.publicKey, ...dev.peers.map((p) => p.publicKey)];
}

/** This node's candidate endpoints: every IPv4 address of its other interfaces, at the tunnel's UDP port. */
function ownEndpoints(max: number, port: number, tunName: string, advertise: readonly Prefix[]): RecordEndpoint[] {
  const out: RecordEndpoint[] = advertise.map((p) => ({ ip: formatIp(p.bytes), port: p.bits, kind: 'subnet' as const }));
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (isWarrenInterface(name, tunName)) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push({ ip: a.address, port, kind: 'lan' });
  }
  const seen = new Set<string>();
  for (const e of reflected.values()) {
    const text = formatEndpoint(e);
    if (e.family !== 4 || seen.has(text) || out.some((o) => o.ip === e.address && o.port === e.port)) continue;
    seen.add(text);
    out.push({ ip: e.address, port: e.port, kind: 'public' });
  }
  return out.slice(0, max);
}
