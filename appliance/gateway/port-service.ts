// Inbound ports, wired to the daemon (gateway/port-forwards.ts has the model): the NAT-PMP
// server on the LAN, the control messages between an appliance and its exit, and the firewall's
// maps. An appliance can be both (a home that is an exit for others).
//
//   appliance → exit  { t: "port", id, proto, inner, suggested, lifetime }   (lifetime 0: close)
//   exit → appliance  { t: "port-reply", id, ok, external, lifetime, address } | { …, ok: false, code, error }
//   appliance → exit  { t: "addr", id }        exit → appliance  { t: "addr-reply", id, address }
//
// Control messages travel inside the session, like the data: only members can ask, and each
// field is checked here (an authenticated member can still be hostile).

import { networkInterfaces } from 'node:os';
import type { Config } from '../config/schema.ts';
import { encodeKey } from '../config/schema.ts';
import { deviceExits } from '../config/gateway.ts';
import { DEFAULT_PORTS, exitPortRange } from '../dataplane/exit-ports.ts';
import { formatPrefix, networkOf, parsePrefix } from '../dataplane/packet/addr.ts';
import { parseIp } from '../dataplane/packet/ip-text.ts';
import { parseNeighbours } from '../admin/lan-devices.ts';
import type { Device } from '../device.ts';
import type { Peer } from '../session/peer.ts';
import type { Runner } from '../system/runner.ts';
import type { GatewayController } from './gateway.ts';
import { NATPMP_PORT, RESULT, decodeRequest, encodeAddress, encodeError, encodeMap, type Proto } from './natpmp.ts';
import { ExitForwards, PortMapper, type DeviceRoute, type ExitLease, type HomeMapping, type PortAsk, type PortReply } from './port-forwards.ts';

/** How long the appliance waits for its exit's answer, over ASK_TRIES sends. */
const ASK_TRIES = 3;
const ASK_INTERVAL_MS = 600;
/** At most this many NAT-PMP requests waiting for an exit at once (a LAN device cannot flood the exit). */
const MAX_WAITING = 32;
const REFRESH_TICKS = 3;

export interface PortServiceDeps {
  dev: Device;
  gateway: GatewayController;
  run: Runner;
  log: (line: string) => void;
  interfaces?: () => ReturnType<typeof networkInterfaces>;
}

export interface PortStatus {
  /** On an exit: the ports it holds open for members. */
  exit: (Omit<ExitLease, 'expiresMs'> & { expiresInSeconds: number })[];
  /** On an appliance: its LAN devices' inbound ports. */
  home: (Omit<HomeMapping, 'expiresMs'> & { expiresInSeconds: number })[];
  natpmp: boolean;
}

type Waiter = (reply: Record<string, unknown>) => void;

export class PortService {
  private config: Config;
  private readonly exitForwards: ExitForwards;
  readonly mapper: PortMapper;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private socket: { send(data: Uint8Array, port: number, address: string): boolean; close(): void } | null = null;
  private binding = false;
  private readonly startedMs = Date.now();
  private appliedKey = '';
  private ticks = 0;
  private ticking = false;

  constructor(config: Config, private readonly deps: PortServiceDeps) {
    this.config = config;
    const e = config.exit;
    this.exitForwards = new ExitForwards({
      range: e?.forwardPorts ?? { first: 1, last: 0 },
      perMember: e?.forwardsPerMember ?? 0,
      reserved: [config.interface.listenPort],
      now: () => Date.now(),
    });
    this.mapper = new PortMapper({
      route: (ip) => this.routeOf(ip),
      ask: (exit, q) => this.ask(exit, q),
      now: () => Date.now(),
      log: deps.log,
      changed: () => this.apply(),
    });
  }

  private get interfaces(): ReturnType<typeof networkInterfaces> {
    return (this.deps.interfaces ?? networkInterfaces)();
  }

  reconfigure(next: Config): void {
    this.config = next;
    const e = next.exit;
    if (this.exitForwards.configure(e?.forwardPorts ?? { first: 1, last: 0 }, e?.forwardsPerMember ?? 0, [next.interface.listenPort])) this.apply();
    if (!next.gateway?.portMapping) this.closeSocket();
  }

  /** The firewall's maps follow the leases (applied only when they changed). */
  private apply(): void {
    const exit = this.exitForwards.elements();
    const home = this.mapper.elements();
    const key = JSON.stringify([exit, home]);
    if (key === this.appliedKey) return;
    this.appliedKey = key;
    try {
      this.deps.gateway.setForwards(exit, home);
    } catch (e) {
      this.deps.log(`ports: the firewall refused the forwards: ${(e as Error).message}`);
    }
  }

  /** Once a second: leases end, devices that moved exit follow, the NAT-PMP socket binds once the LAN has its address. */
  async tick(): Promise<void> {
    // A tick that waits on an exit (up to ASK_TRIES × ASK_INTERVAL_MS) must not overlap the next.
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.tickOnce();
    } finally {
      this.ticking = false;
    }
  }

  private async tickOnce(): Promise<void> {
    const members = new Set(this.deps.dev.peers.map((p) => encodeKey(p.publicKey)));
    let changed = this.exitForwards.sweep();
    for (const l of this.exitForwards.list()) if (!members.has(l.member)) changed = this.exitForwards.dropMember(l.member) || changed;
    if (changed) this.apply();
    await this.mapper.sweep();
    // A device's exit can change (failover): its ports follow within REFRESH_TICKS seconds.
    if (++this.ticks % REFRESH_TICKS === 0) await this.mapper.refresh();
    if (this.config.gateway?.portMapping && !this.socket) await this.bind();
  }

  status(): PortStatus {
    const now = Date.now();
    return {
      exit: this.exitForwards.list().map(({ expiresMs, ...l }) => ({ ...l, expiresInSeconds: Math.max(0, Math.round((expiresMs - now) / 1000)) })),
      home: this.mapper.list().map(({ expiresMs, ...m }) => ({ ...m, expiresInSeconds: Math.max(0, Math.round((expiresMs - now) / 1000)) })),
      natpmp: this.socket !== null,
    };
  }

  close(): void {
    this.closeSocket();
    for (const w of this.waiting.values()) w({ ok: false, code: 'network-failure', error: 'stopping' });
    this.waiting.clear();
  }

  private closeSocket(): void {
    this.socket?.close();
    this.socket = null;
  }

  // ---------------------------------------------------------------- control messages

  /** A control message from a member; true when it was ours. */
  onControl(from: Peer, msg: Record<string, unknown>): boolean {
    if (msg.t === 'port' || msg.t === 'addr') {
      this.answerMember(from, msg);
      return true;
    }
    if ((msg.t === 'port-reply' || msg.t === 'addr-reply') && typeof msg.id === 'number') {
      const w = this.waiting.get(msg.id);
      if (w) {
        this.waiting.delete(msg.id);
        w(msg);
      }
      return true;
    }
    return false;
  }

  /** The exit's side: a member asks for a port, renews or gives it back, or asks our address. */
  private answerMember(from: Peer, msg: Record<string, unknown>): void {
    const id = msg.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) return;
    const address = this.wanAddress();
    if (msg.t === 'addr') {
      this.deps.dev.sendControl(from, { t: 'addr-reply', id, address });
      return;
    }
    const refuse = (code: string, error: string) => this.deps.dev.sendControl(from, { t: 'port-reply', id, ok: false, code, error });
    if (!this.config.exit) return void refuse('refused', 'this member is not an exit');
    const { proto, inner, suggested, lifetime } = msg;
    const port = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 65535;
    if ((proto !== 'tcp' && proto !== 'udp') || !port(inner, 1) || !port(suggested, 0) || typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime < 0 || lifetime > 0xffffffff) {
      return void refuse('refused', 'malformed port request');
    }
    const overlay = from.allowedIps.find((p) => p.family === 4 && p.bits === 32);
    if (!overlay) return void refuse('refused', 'the member has no overlay address here');
    const memberAddr = [...overlay.bytes].join('.');
    const answer = this.exitForwards.request(encodeKey(from.publicKey), memberAddr, proto, inner as number, suggested as number, lifetime);
    this.apply();
    if (answer.ok) this.deps.dev.sendControl(from, { t: 'port-reply', id, ok: true, external: answer.external, lifetime: answer.lifetime, address });
    else refuse(answer.code, answer.error);
  }

  /** The exit's WAN address (what NAT-PMP calls the external address). */
  private wanAddress(): string | null {
    const wan = this.config.exit?.wan;
    return (wan ? this.interfaces[wan]?.find((a) => a.family === 'IPv4')?.address : undefined) ?? null;
  }

  /** The WAN address `exit` (base64 key) reports, or null when it does not answer. */
  async exitWanAddress(exit: string): Promise<string | null> {
    const reply = await this.request(exit, { t: 'addr' });
    return typeof reply?.address === 'string' && parseIp(reply.address)?.length === 4 ? reply.address : null;
  }

  /** The appliance's side: asks `exit` (base64 key) and waits for its answer. */
  private async ask(exit: string, q: PortAsk): Promise<PortReply | null> {
    const reply = await this.request(exit, { t: 'port', ...q });
    if (!reply) return null;
    if (reply.ok === true && typeof reply.external === 'number' && typeof reply.lifetime === 'number') {
      return { ok: true, external: reply.external, lifetime: reply.lifetime, address: typeof reply.address === 'string' ? reply.address : null };
    }
    return { ok: false, code: typeof reply.code === 'string' ? reply.code : 'refused', error: typeof reply.error === 'string' ? reply.error.slice(0, 200) : 'refused' };
  }

  private async request(exit: string, body: Record<string, unknown>): Promise<Record<string, unknown> | null> {
    const peer = this.deps.dev.peers.find((p) => encodeKey(p.publicKey) === exit);
    if (!peer || this.waiting.size >= MAX_WAITING) return null;
    const id = this.nextId++ >>> 0;
    const got = new Promise<Record<string, unknown> | null>((resolve) => {
      this.waiting.set(id, resolve);
      setTimeout(() => {
        if (this.waiting.delete(id)) resolve(null);
      }, ASK_TRIES * ASK_INTERVAL_MS);
    });
    // Lost datagrams: asked again (the exit's answer is the same for the same request).
    for (let i = 0; i < ASK_TRIES; i++) {
      setTimeout(() => {
        if (this.waiting.has(id)) this.deps.dev.sendControl(peer, { ...body, id });
      }, i * ASK_INTERVAL_MS);
    }
    return got;
  }

  // ---------------------------------------------------------------- NAT-PMP on the LAN

  /** The device at `ip`: through the overlay, its exit and the port range that routes to it. */
  private routeOf(ip: string): DeviceRoute {
    const g = this.config.gateway;
    if (!g) return { ok: false, why: 'not a gateway' };
    let d = g.devices.find((x) => x.ip === ip);
    if (!d && g.devices.some((x) => x.mac !== null)) {
      const r = this.deps.run(['ip', '-json', 'neigh', 'show', ip, 'dev', g.lan], { allowFail: true });
      const mac = r.code === 0 ? parseNeighbours(r.stdout).find((n) => n.ip === ip)?.mac : undefined;
      if (mac) d = g.devices.find((x) => x.mac === mac);
    }
    const policy = d?.policy ?? g.defaultPolicy;
    if (policy !== 'overlay') return { ok: false, why: `${ip} is not set to the overlay (${policy})` };
    if (d?.exit) {
      const k = deviceExits(g.devices).indexOf(d.exit);
      return { ok: true, exit: d.exit, range: exitPortRange(k) };
    }
    const exitPeer = this.deps.dev.exitPeer;
    if (!exitPeer) return { ok: false, why: 'no exit in use', noExit: true };
    return { ok: true, exit: encodeKey(exitPeer.publicKey), range: DEFAULT_PORTS };
  }

  /** The LAN's IPv4 address and subnet, once the interface has them. */
  private lanAddress(): { address: string; cidr: string } | null {
    const lan = this.config.gateway?.lan;
    const a = lan ? this.interfaces[lan]?.find((x) => x.family === 'IPv4') : undefined;
    return a && a.cidr ? { address: a.address, cidr: a.cidr } : null;
  }

  private async bind(): Promise<void> {
    const lan = this.lanAddress();
    if (!lan || this.binding) return;
    this.binding = true;
    try {
      this.socket = await Bun.udpSocket({
        hostname: lan.address,
        port: NATPMP_PORT,
        socket: {
          data: (_s, data, port, address) => void this.onRequest(new Uint8Array(data), port, address, lan.cidr),
        },
      });
      this.deps.log(`ports: NAT-PMP on ${lan.address}:${NATPMP_PORT}`);
    } catch (e) {
      this.deps.log(`ports: cannot answer NAT-PMP on ${lan.address}:${NATPMP_PORT}: ${(e as Error).message}`);
    } finally {
      this.binding = false;
    }
  }

  private async onRequest(msg: Uint8Array, port: number, address: string, cidr: string): Promise<void> {
    if (!inSubnet(address, cidr) || port === 0) return; // only LAN devices are answered
    const req = decodeRequest(msg);
    if (!req) return;
    const epoch = Math.floor((Date.now() - this.startedMs) / 1000);
    const send = (b: Uint8Array) => this.socket?.send(b, port, address);
    if (req.kind === 'bad') return void send(encodeError(req.opcode, req.result, epoch));
    if (req.kind === 'address') {
      const route = this.routeOf(address);
      if (!route.ok) return void send(encodeAddress(RESULT.refused, epoch, null));
      const a = await this.exitWanAddress(route.exit);
      return void send(encodeAddress(a ? RESULT.success : RESULT.networkFailure, epoch, a));
    }
    const r = await this.mapper.map(address, req.proto, req.internal, req.suggested, req.lifetime);
    const code = r.result === 'success' ? RESULT.success : r.result === 'refused' ? RESULT.refused : r.result === 'network-failure' ? RESULT.networkFailure : RESULT.outOfResources;
    if (r.result !== 'success') this.deps.log(`ports: ${address} asked for ${req.proto} ${req.internal}: ${r.why}`);
    send(encodeMap(req.proto as Proto, code, epoch, req.internal, r.result === 'success' ? r.external : 0, r.result === 'success' ? r.lifetime : 0));
  }
}

/** True when the IPv4 `ip` is in `cidr` ("192.168.1.1/24"). */
export function inSubnet(ip: string, cidr: string): boolean {
  const net = parsePrefix(cidr);
  const host = parsePrefix(ip);
  if (!net || !host || net.family !== 4 || host.family !== 4) return false;
  return formatPrefix(networkOf(net)) === formatPrefix(networkOf({ ...host, bits: net.bits }));
}
