// The device: one node's whole protocol state — identity, peers, cryptokey routing, the index
// table, the cookie checker, counters — driven by three inputs: packets from the TUN
// (outbound), datagrams from UDP (inbound), and a periodic tick (timers). Every effect goes
// through seams (send datagrams, write to the TUN, the clock), so the device runs in unit
// tests with fakes and in the daemon with the real TUN and socket.
//
// Stages, in the order they are defined below:
//   outbound   tun packet → cryptokey route → keypair → seal → datagram batch
//   inbound    datagram → data header (wire) → index → open → replay → allowed source → tun
//              else handshake (wire) → mac1 → (under load) mac2 or cookie reply → noise
// The wire (wire/wire.ts) decides the bytes: byte-for-byte WireGuard, or the native wire where
// nothing is fixed; the cipher suite is negotiated in native handshakes.
//   handshake  session/handshakes.ts: initiate / retransmit / respond / complete, keypair rotation
//   timers     session/timers.ts: WireGuard whitepaper §6: rekey, keepalives, give-up, key erasure

import { TokenBucket, bucketFor } from './session/rate.ts';
import { EXIT_ABSENT, EXIT_UNSET, MAX_DEVICE_EXITS, exitIndexOf } from './dataplane/exit-ports.ts';
import type { StaticIdentity } from './noise/handshake.ts';
import { CookieChecker } from './noise/cookie.ts';
import { dh, publicKeyOf } from './noise/crypto.ts';
import { MESSAGE_INITIATION, MESSAGE_RESPONSE, MESSAGE_COOKIE_REPLY } from './noise/constants.ts';
import type { Config, PeerConfig } from './config/schema.ts';
import { RouteTable } from './dataplane/route-table.ts';
import type { Endpoint, Prefix, RelayHop } from './dataplane/packet/addr.ts';
import { ipVersion, dstOffset, srcOffset, ipPacketLength } from './dataplane/packet/ip.ts';
import { TAG_SIZE } from './dataplane/packet/transport.ts';
import { NativeWire, WIREGUARD_WIRE, type DataHeader, type Opened, type Wire } from './wire/wire.ts';
import { combinePsk, deriveWireKeys } from './wire/keys.ts';
import { newCounters, type Counters } from './session/counters.ts';
import { IndexTable, randomU32 } from './session/index-table.ts';
import { Keypair, REJECT_AFTER_MESSAGES } from './session/keypair.ts';
import { hasFastAes } from './session/aead.ts';
import { Handshakes, CAP_FAST_AES, sameKey, type IndexEntry } from './session/handshakes.ts';
import { runPeerTimers, type TimersMs } from './session/timers.ts';
import { Peer } from './session/peer.ts';
import { DatagramPool } from './dataplane/datagram-pool.ts';
import { buildDatagram } from './dataplane/seal.ts';
import type { DataReceiver, DataSender } from './dataplane/outbound-host.ts';

const DEFAULT_V4: Prefix = { family: 4, bytes: new Uint8Array(4), bits: 0 };

/** Datagrams per socket batch: a TUN read batch is at most 64, plus replies and keepalives. */
const BATCH_SLOTS = 256;




export interface DeviceSeams {
  /** Sends datagrams: a flat list of (bytes, port, address) triples, as Bun's sendMany takes. */
  sendMany(list: (Uint8Array | number | string)[]): void;
  /** Writes one IP packet to the TUN; false when the kernel dropped it. */
  tunWrite(packet: Uint8Array): boolean;
  /** Monotonic milliseconds, for timers. */
  now(): number;
  /** Wall-clock milliseconds since 1970, for TAI64N handshake timestamps (default Date.now). */
  wallNow?: () => number;
  random?: () => number;
  log?: (line: string) => void;
  /**
   * Who seals and sends data messages. Absent: this device does it in-process (tests, and the
   * fallback). The daemon passes the outbound worker's host (dataplane/outbound-host.ts), which
   * then owns every keypair's send counter.
   */
  sender?: DataSender;
  /**
   * Who opens the peers' data messages off this thread (the daemon: the data-plane worker, which
   * receives every datagram and hands this device only what it does not deliver itself). It then
   * shares every session's receive key and replay window.
   */
  receiver?: DataReceiver;
  /**
   * A handshake initiation from a key this device has no peer for, authenticated (the initiator
   * proved its static key): the peer to add for it, or null to refuse. The daemon admits approved
   * members of the network on the native wire (a member that found us first on the DHT, or whose
   * record we could not see). `previousSecret`: the initiation came under the network's previous
   * secret (after a rotation), where only members approved before may come in. Absent: unknown
   * initiators are refused.
   */
  admitInitiator?: (publicKey: Uint8Array, previousSecret: boolean) => PeerConfig | null;
  /** A member told us of other members (peer exchange): their keys and where it reaches them. */
  onPeerExchange?: (from: Peer, entries: PexEntry[]) => void;
  /** A circuit link message from a member (native wire; circuit/engine.ts), padding included. */
  onCircuit?: (from: Peer, msg: Uint8Array) => void;
  /** A control message from a member (native wire): parsed JSON, still to be checked field by field. */
  onControl?: (from: Peer, msg: unknown) => void;
}

/** One member in a peer-exchange message: its static key, and its endpoint as the sender sees it (null: none to share). */
export interface PexEntry {
  publicKey: Uint8Array;
  endpoint: Endpoint | null;
}

export type { Counters } from './session/counters.ts';


export class Device {
  readonly identity: StaticIdentity;
  readonly peers: Peer[] = [];
  readonly counters: Counters = newCounters();
  /** The wire per key slot of the network secret: the current one and, for a while after a
   * rotation, the previous one (network/rotation.ts); null when a slot is unused. The WireGuard
   * wire has one slot. */
  private readonly wires: (Wire | null)[] = [null, null];
  private readonly networkPsks: (Uint8Array | null)[] = [null, null];
  private currentSlot = 0;
  private readonly byKey = new Map<string, Peer>();
  private exit: Peer | null = null;
  /** This member passes datagrams on between other members ([relay] enabled). */
  private readonly relaying: boolean;
  /** Relayed member pairs (lower slot × 65536 + higher slot) → when the pair last used this relay. */
  private readonly relayPairs = new Map<number, number>();
  /** Per-device exits (dataplane/exit-ports.ts): index k → its peer, null when it is not a peer
   * (its devices' traffic is dropped, not sent elsewhere), undefined when k is not in use. */
  private deviceExitList: (Peer | null | undefined)[] = [];
  /** [relay] member_rate_mbit: a token bucket per member slot. */
  private readonly carryBudgets = new Map<number, TokenBucket>();
  /** Data-plane slots: the next never used, and those of removed peers (reused first). */
  private nextSlot = 0;
  private readonly freeSlots: number[] = [];
  private readonly routes = new RouteTable<Peer>();
  private readonly indices: IndexTable<IndexEntry>;
  private readonly cookies: CookieChecker;
  private readonly out: (Uint8Array | number | string)[] = [];
  private readonly pool: DatagramPool;
  private readonly t: TimersMs;
  private readonly header: DataHeader = { index: 0, counter: 0 };
  private readonly nonce = new Uint8Array(12);
  /** All-zero plaintext for keepalives. */
  private readonly zeros: Uint8Array;
  /** What this node offers in native initiations (CAP_FAST_AES where AES-GCM runs in hardware). */
  private readonly localCaps: number;
  readonly handshakes: Handshakes;

  constructor(
    private readonly config: Config,
    readonly seams: DeviceSeams,
  ) {
    const privateKey = config.interface.privateKey;
    this.pool = new DatagramPool(BATCH_SLOTS, config.interface.mtu + 64);
    this.zeros = new Uint8Array(config.interface.mtu);
    const keys = config.network ? deriveWireKeys(config.network.secret) : null;
    if (config.interface.wire === 'native' && keys) {
      this.wires[0] = new NativeWire(keys, config.interface.padding);
      this.networkPsks[0] = keys.psk;
      // After a rotation the previous secret stays accepted for a while (network/rotation.ts).
      const previous = config.network?.previous ? deriveWireKeys(config.network.previous.secret) : null;
      if (previous) {
        this.wires[1] = new NativeWire(previous, config.interface.padding);
        this.networkPsks[1] = previous.psk;
      }
      seams.sender?.setWireKey(0, keys.header);
      seams.sender?.setWireKey(1, previous?.header ?? null);
    } else {
      this.wires[0] = WIREGUARD_WIRE;
    }
    const cipher = config.interface.cipher;
    this.relaying = config.relay.enabled && this.wire.kind === 'native';
    this.localCaps = cipher === 'aes256gcm' || (cipher === 'auto' && hasFastAes()) ? CAP_FAST_AES : 0;
    this.identity = { privateKey, publicKey: publicKeyOf(privateKey) };
    this.indices = new IndexTable<IndexEntry>(seams.random ?? randomU32);
    if (seams.receiver) this.indices.setLowMask(seams.receiver.indexMask);
    this.cookies = new CookieChecker(this.identity.publicKey, { now: seams.now });
    const tc = config.timers;
    this.t = {
      rekeyAfterTime: tc.rekeyAfterTime * 1000,
      rejectAfterTime: tc.rejectAfterTime * 1000,
      rekeyAttemptTime: tc.rekeyAttemptTime * 1000,
      rekeyTimeout: tc.rekeyTimeout * 1000,
      keepaliveTimeout: tc.keepaliveTimeout * 1000,
      rekeyAfterMessages: Number(tc.rekeyAfterMessages),
    };
    this.handshakes = new Handshakes(this, this.indices, this.cookies, this.localCaps, this.t.rekeyTimeout, config.limits.cookieAfterHandshakesPerSecond);
    for (const pc of config.peers) this.addPeer(pc);
  }

  /** Adds a peer (from the config at start, or found by discovery later); null when it is known or there is no room. */
  addPeer(pc: PeerConfig): Peer | null {
    if (this.byKey.has(keyId(pc.publicKey))) return null;
    const sender = this.seams.sender;
    // Slots in use are the peers (removed peers' slots are reused first), so fewer peers than
    // the data plane's slots always leaves one free.
    const room = Math.min(this.config.limits.maxPeers, sender?.slots ?? Infinity);
    if (this.peers.length >= room) {
      this.counters.peersRefused++;
      this.log(`peer ${pc.name}: not added, this appliance holds at most ${room} peers ([limits] max_peers)`);
      return null;
    }
    const ss = dh(this.identity.privateKey, pc.publicKey) ?? undefined;
    const peer = new Peer(pc.name, pc.publicKey, pc.presharedKey, pc.endpoint, pc.allowedIps, pc.persistentKeepalive, ss, this.seams.now);
    peer.slot = this.freeSlots.shift() ?? this.nextSlot++;
    this.seams.receiver?.takeReceived(peer.slot); // what the worker counted for the slot's last peer is not this one's
    this.peers.push(peer);
    this.byKey.set(keyId(pc.publicKey), peer);
    for (const prefix of pc.allowedIps) this.routes.insert(prefix, peer);
    if (this.exit) this.routes.insert(DEFAULT_V4, this.exit); // an allowed 0.0.0.0/0 never displaces the chosen exit
    this.shareRoutes();
    return peer;
  }

  /** The wire new sessions use (the current network secret's, on the native wire). */
  get wire(): Wire {
    return this.wires[this.currentSlot]!;
  }

  /** For the handshake machinery (HandshakeHost). */
  get wireSlot(): number {
    return this.currentSlot;
  }

  /** For the handshake machinery (HandshakeHost). */
  wireAt(slot: number): Wire | null {
    return this.wires[slot] ?? null;
  }

  /** For the handshake machinery: the native wire mixes the network's PSK (of the key slot the
   * handshake is made under) into every handshake, so only members complete one. */
  pskFor(peer: Peer, slot: number): Uint8Array {
    const network = this.networkPsks[slot];
    return network ? combinePsk(network, peer.presharedKey) : peer.presharedKey;
  }

  /** Whether sessions under a previous network secret are still accepted. */
  get acceptsPreviousSecret(): boolean {
    return this.wires[1 - this.currentSlot] !== null;
  }

  /** Whether `peer`'s session in use was made under the previous network secret. */
  onPreviousSecret(peer: Peer): boolean {
    return peer.current !== null && peer.current.wireSlot !== this.currentSlot;
  }

  /**
   * The network secret was rotated (network/rotation.ts): new handshakes go under `secret`; the
   * one in use so far stays accepted — its sessions carry on — until dropPreviousSecret. Any
   * older secret still held is dropped, with its sessions. Native wire only.
   */
  rotateSecret(secret: Uint8Array): void {
    if (this.wire.kind !== 'native') return;
    const next = 1 - this.currentSlot;
    this.dropSlot(next);
    const keys = deriveWireKeys(secret);
    this.wires[next] = new NativeWire(keys, this.config.interface.padding);
    this.networkPsks[next] = keys.psk;
    this.seams.sender?.setWireKey(next, keys.header);
    this.currentSlot = next;
    this.log('network: the network secret changed; the previous one is still accepted for now');
  }

  /** A handshake with `peer` now, under the current secret (its session was under the previous one). */
  rehandshake(peer: Peer): void {
    this.handshakes.initiate(peer, false);
    this.flush();
  }

  /** The previous network secret is no longer accepted: its sessions end (their peers handshake again). */
  dropPreviousSecret(): void {
    const previous = 1 - this.currentSlot;
    if (!this.wires[previous] || this.wire.kind !== 'native') return;
    this.dropSlot(previous);
    this.log('network: the previous network secret is no longer accepted');
  }

  /** Ends every session and pending handshake made under a key slot, and frees the slot. */
  private dropSlot(slot: number): void {
    if (!this.wires[slot]) return;
    for (const peer of this.peers) {
      if (peer.handshake && peer.handshakeSlot === slot) this.handshakes.abandon(peer);
      let changed = false;
      for (const which of ['current', 'previous', 'next'] as const) {
        const kp = peer[which];
        if (kp && kp.wireSlot === slot) {
          this.handshakes.retire(kp);
          peer[which] = null;
          changed = true;
        }
      }
      if (changed) this.publish(peer);
    }
    this.wires[slot] = null;
    this.networkPsks[slot] = null;
    this.seams.sender?.setWireKey(slot, null);
  }

  /** The exit the gateway sends the LAN's internet traffic to (IPv4 default route), or none. */
  get exitPeer(): Peer | null {
    return this.exit;
  }

  /**
   * Makes `peer` the exit: 0.0.0.0/0 routes to it, outbound (the LAN's traffic) and inbound (its
   * replies come from internet addresses). Longer prefixes — every member's overlay address —
   * still win both ways, so an exit cannot speak as another member. null: no exit.
   */
  setExit(peer: Peer | null): void {
    if (peer === this.exit) return;
    this.routes.delete(DEFAULT_V4);
    // A configured peer whose allowed IPs include 0.0.0.0/0 keeps that route when not the exit.
    for (const p of this.peers) for (const prefix of p.allowedIps) if (prefix.family === 4 && prefix.bits === 0) this.routes.insert(prefix, p);
    this.exit = peer;
    if (peer) this.routes.insert(DEFAULT_V4, peer);
    this.shareRoutes();
    this.log(peer ? `exit: ${peer.name}` : 'exit: none');
  }

  /**
   * The LANs a member shares (site-to-site): routed to it, and accepted from it, like its allowed
   * IPs. The caller has checked they clash with nothing here. Returns whether anything changed.
   */
  setSubnets(peer: Peer, subnets: Prefix[]): boolean {
    const text = (l: Prefix[]) => l.map((x) => `${x.bytes.join('.')}/${x.bits}`).sort().join(' ');
    if (text(peer.subnets) === text(subnets) || this.byKey.get(keyId(peer.publicKey)) !== peer) return false;
    for (const prefix of peer.subnets) if (this.routes.lookupPrefix(prefix) === peer) this.routes.delete(prefix);
    peer.subnets = subnets;
    for (const prefix of subnets) this.routes.insert(prefix, peer);
    this.shareRoutes();
    return true;
  }

  private shareRoutes(): void {
    const routes = this.peers.flatMap((p) => [...p.allowedIps, ...p.subnets].filter((prefix) => !(this.exit && prefix.family === 4 && prefix.bits === 0)).map((prefix) => ({ prefix, slot: p.slot })));
    if (this.exit) routes.push({ prefix: DEFAULT_V4, slot: this.exit.slot });
    this.seams.sender?.setRoutes(routes, this.deviceExitList.map((e) => (e === undefined ? EXIT_UNSET : e === null ? EXIT_ABSENT : e.slot)));
  }

  /**
   * The exits devices named, by index k (their port range: dataplane/exit-ports.ts): a peer, or
   * null for an exit that is not a peer now (those devices' traffic is dropped until it is).
   */
  setDeviceExits(exits: readonly (Peer | null)[]): void {
    const next = exits.slice(0, MAX_DEVICE_EXITS);
    if (next.length === this.deviceExitList.length && next.every((e, k) => e === this.deviceExitList[k])) return;
    this.deviceExitList = next;
    this.shareRoutes();
  }

  /** The exit a packet whose destination matched only the default route goes to, by its port. */
  private deviceExitFor(pkt: Uint8Array, current: Peer | null): Peer | null {
    const k = exitIndexOf(pkt, pkt.length);
    if (k < 0 || k >= this.deviceExitList.length) return current;
    const e = this.deviceExitList[k];
    return e === undefined ? current : e;
  }

  /**
   * Removes a peer (revoked): its routes, its sessions and their keys (wiped), its pending
   * handshake, its slot in the data plane. Packets from it no longer authenticate; a handshake
   * from its key meets `admitInitiator` again (which refuses a revoked key).
   */
  removePeer(peer: Peer): boolean {
    const id = keyId(peer.publicKey);
    if (this.byKey.get(id) !== peer) return false;
    if (this.exit === peer) this.setExit(null);
    if (this.deviceExitList.includes(peer)) this.deviceExitList = this.deviceExitList.map((e) => (e === peer ? null : e));
    this.byKey.delete(id);
    this.routes.removeValue(peer);
    const i = this.peers.indexOf(peer);
    if (i >= 0) this.peers.splice(i, 1);
    if (peer.handshake) this.handshakes.abandon(peer);
    for (const kp of [peer.current, peer.previous, peer.next]) this.handshakes.retire(kp);
    peer.current = peer.previous = peer.next = null;
    peer.staged = [];
    this.publish(peer); // the data plane holds no keys for the slot any more
    for (const p of [...this.relayPairs.keys()]) if (Math.floor(p / 0x10000) === peer.slot || p % 0x10000 === peer.slot) this.relayPairs.delete(p);
    this.freeSlots.push(peer.slot);
    this.shareRoutes();
    this.log(`peer ${peer.name}: removed`);
    return true;
  }

  peerByKey(publicKey: Uint8Array): Peer | undefined {
    return this.byKey.get(keyId(publicKey));
  }

  admitInitiator(publicKey: Uint8Array, slot: number): Peer | undefined {
    const pc = this.seams.admitInitiator?.(publicKey, slot !== this.currentSlot);
    if (!pc) return undefined;
    const peer = this.addPeer(pc) ?? undefined;
    if (peer) this.log(`peer ${pc.name}: admitted on its handshake`);
    return peer;
  }

  /**
   * A candidate endpoint learned out of band (discovery, peer exchange). It is used only while
   * the peer has not proven another one with an authenticated packet.
   */
  offerEndpoint(peer: Peer, endpoint: Endpoint): void {
    if (peer.lastReceivedMs > 0) return;
    const old = peer.endpoint;
    if (old && old.address === endpoint.address && old.port === endpoint.port && (peer.current || peer.handshake)) return;
    peer.endpoint = endpoint;
    this.publish(peer);
    if (!peer.current) {
      // A pending initiation went to the old candidate: send one to the new one now (as a
      // retransmission, so the once-per-REKEY_TIMEOUT limit does not hold it back).
      this.handshakes.initiate(peer, peer.handshake !== null);
      this.flush();
    }
  }

  /** Start-up: reach every peer with a known endpoint now, so a restarted node is back at once. */
  start(): void {
    for (const peer of this.peers) if (peer.endpoint) this.handshakes.initiate(peer, false);
    this.flush();
  }

  // ---------------------------------------------------------------- outbound

  /** Packets read from the TUN; the views are only valid during the call. */
  outbound(packets: Uint8Array[], count: number): void {
    const now = this.seams.now();
    for (let i = 0; i < count; i++) {
      const pkt = packets[i];
      if (!pkt) continue;
      const version = ipVersion(pkt, pkt.length);
      if (version === 0) {
        this.counters.dropMalformed++;
        continue;
      }
      let peer = this.routes.lookup(pkt, dstOffset(version), version);
      if (this.deviceExitList.length > 0 && version === 4 && this.routes.matchedBits === 0) peer = this.deviceExitFor(pkt, peer);
      if (!peer) {
        this.counters.dropNoRoute++;
        continue;
      }
      this.sendData(peer, pkt, now);
    }
    this.flush();
  }

  private sendData(peer: Peer, pkt: Uint8Array, now: number): void {
    const kp = this.sendingKeypair(peer, now);
    if (!kp || !peer.endpoint) {
      if (pkt.length > 0) peer.stage(pkt);
      if (!peer.endpoint) this.counters.dropNoEndpoint++;
      else this.handshakes.initiate(peer, false);
      return;
    }
    this.seal(peer, kp, pkt, now);
    // §6.2: the initiator rekeys after REKEY_AFTER_TIME or REKEY_AFTER_MESSAGES.
    if (kp.isInitiator && (now - kp.createdMs >= this.t.rekeyAfterTime || this.sendCounter(peer, kp) >= this.t.rekeyAfterMessages)) {
      this.handshakes.initiate(peer, false);
    }
  }

  private sendingKeypair(peer: Peer, now: number): Keypair | null {
    const kp = peer.current;
    if (!kp) return null;
    if (now - kp.createdMs >= this.t.rejectAfterTime || this.sendCounter(peer, kp) >= REJECT_AFTER_MESSAGES) return null;
    return kp;
  }

  /** Messages sent with the peer's current keys (counted by the outbound worker when there is one). */
  private sendCounter(peer: Peer, kp: Keypair): number {
    const sender = this.seams.sender;
    return sender && kp.owner === 'worker' ? sender.sent(peer.slot).counter : kp.sendCounter;
  }

  /** For the handshake machinery (HandshakeHost): the data-plane worker opens a session's
   * messages until it ends — past its time to rekey on receive (§6.2) or to expire it hands
   * them to this thread, which does either. */
  sessionKeys(event: 'add' | 'confirm' | 'remove', peer: Peer | null, kp: Keypair): void {
    const receiver = this.seams.receiver;
    if (!receiver) return;
    if (event === 'remove') receiver.removeSession(kp);
    else if (event === 'confirm') receiver.confirmSession(kp);
    else {
      const rekey = kp.isInitiator ? this.t.keepaliveTimeout + this.t.rekeyTimeout : 0;
      receiver.addSession(kp, peer!.slot, peer!.next !== kp, kp.createdMs + this.t.rejectAfterTime - rekey);
    }
  }

  /** Tells the outbound worker what it may send for this peer now (keys and endpoint). */
  /** For the handshake machinery (HandshakeHost). */
  publish(peer: Peer): void {
    const sender = this.seams.sender;
    if (!sender) return;
    const kp = peer.current;
    const ep = peer.endpoint;
    // The worker seals only for direct paths, and only with keys the main thread never used.
    if (kp && ep && !ep.relay && kp.owner !== 'main') {
      kp.owner = 'worker';
      sender.publish(peer.slot, kp, ep);
    } else {
      sender.publish(peer.slot, null, null);
    }
  }

  private seal(peer: Peer, kp: Keypair, pkt: Uint8Array, now: number, keepalive = false): void {
    const ep = peer.endpoint;
    if (!ep) return;
    const sender = this.seams.sender;
    if (sender && kp.owner === 'worker' && ep.relay) {
      // The path moved to a relay under keys the worker counts: a fresh session, never a shared counter.
      if (!keepalive) peer.stage(pkt);
      this.handshakes.initiate(peer, false);
      return;
    }
    if (sender && kp.owner === 'worker') {
      // The worker seals it with the peer's published keys and counts it.
      sender.send(peer.slot, pkt, keepalive);
      peer.lastSentMs = now;
      peer.keepaliveDueMs = 0;
      if (keepalive) this.counters.keepalivesSent++;
      return;
    }
    const wire = this.wires[kp.wireSlot] ?? this.wire;
    const h = wire.headerBytes;
    const padded = keepalive ? pkt.length : wire.paddedSize(pkt.length, this.config.interface.mtu);
    const size = h + padded + TAG_SIZE;
    let dgram = this.pool.take(size);
    if (!dgram) {
      this.flush(); // a full batch goes out now, and its slots are free again
      dgram = this.pool.take(size) ?? new Uint8Array(size);
    }
    if (sender) kp.owner = 'main';
    const counter = kp.sendCounter++;
    buildDatagram(dgram, wire, kp.aead, kp.sendKey, this.nonce, kp.remoteIndex, counter, pkt, padded);
    this.queue(dgram, ep);
    peer.lastSentMs = now;
    peer.keepaliveDueMs = 0; // any authenticated packet sent cancels the passive keepalive
    if (!keepalive) {
      peer.stats.txPackets++;
      peer.stats.txBytes += pkt.length;
      // §6.2: data sent with no authenticated reply for KEEPALIVE + REKEY_TIMEOUT → new handshake.
      if (peer.newHandshakeDueMs === 0) peer.newHandshakeDueMs = now + this.t.keepaliveTimeout + this.t.rekeyTimeout;
    } else {
      this.counters.keepalivesSent++;
    }
  }

  /** For the handshake machinery (HandshakeHost). */
  sendKeepalive(peer: Peer, now: number): void {
    const kp = this.sendingKeypair(peer, now);
    if (kp && peer.endpoint) this.seal(peer, kp, this.zeros.subarray(0, this.wire.keepaliveSize(this.config.interface.mtu)), now, true);
    else if (peer.endpoint) this.handshakes.initiate(peer, false);
  }

  /** For the handshake machinery (HandshakeHost). */
  flushStaged(peer: Peer, now: number): void {
    const staged = peer.staged;
    if (staged.length === 0) return;
    peer.staged = [];
    for (const pkt of staged) this.sendData(peer, pkt, now);
  }

  /** For the handshake machinery (HandshakeHost). */
  queue(dgram: Uint8Array, ep: Endpoint): void {
    if (ep.relay) this.relayOut(ep.relay, dgram);
    else this.out.push(dgram, ep.port, ep.address);
  }

  // ---------------------------------------------------------------- relays
  //
  // When two members cannot reach each other directly (NATs that defeat hole punching), a member
  // both can reach passes their already-encrypted datagrams on. Inside a session, a plaintext
  // whose first byte is 0x10 or 0x11 is not an IP packet but a relay message:
  //   0x10 forward  [type][length u16][the far peer's static key 32][datagram]   member → relay
  //   0x11 deliver  [type][length u16][the sender's static key 32][datagram]     relay → member
  // The relay sees only the two keys and ciphertext; the datagram is the two members' own.

  /** Reach `peer` through `relay` (a member with a live session that offers relaying). */
  useRelay(peer: Peer, relay: Peer): void {
    if (peer === relay || peer.lastReceivedMs > 0 || !this.byKey.has(keyId(relay.publicKey))) return;
    peer.endpoint = { family: 4, address: 'relay', port: 0, relay: { via: relay.publicKey, to: peer.publicKey } };
    this.publish(peer);
    this.log(`peer ${peer.name}: through relay ${relay.name}`);
    this.handshakes.initiate(peer, peer.handshake !== null);
    this.flush();
  }

  /**
   * A peer reached through a relay: sends a keepalive of its session straight to `candidate`
   * (its record's address, or its NAT's mapping seen on the DHT). If a hole has opened since,
   * it arrives, the far side roams to us directly, its answer comes directly, and we roam too.
   * The relay stays in use until then. Keys of relayed sessions are the main thread's.
   */
  probeDirect(peer: Peer, candidate: Endpoint): boolean {
    const now = this.seams.now();
    const kp = this.sendingKeypair(peer, now);
    if (!peer.endpoint?.relay || candidate.relay || !kp || (this.seams.sender && kp.owner === 'worker')) return false;
    if (this.seams.sender) kp.owner = 'main';
    const wire = this.wires[kp.wireSlot] ?? this.wire;
    const pkt = this.zeros.subarray(0, wire.keepaliveSize(this.config.interface.mtu));
    const dgram = new Uint8Array(wire.headerBytes + pkt.length + TAG_SIZE);
    buildDatagram(dgram, wire, kp.aead, kp.sendKey, this.nonce, kp.remoteIndex, kp.sendCounter++, pkt, pkt.length);
    this.out.push(dgram, candidate.port, candidate.address);
    this.flush();
    return true;
  }

  private relayOut(hop: RelayHop, dgram: Uint8Array): void {
    const relay = this.byKey.get(keyId(hop.via));
    if (!relay || !this.sendPlain(relay, relayMessage(RELAY_FORWARD, hop.to, dgram))) {
      this.counters.relayRefused++;
      return;
    }
    this.counters.relaySent++;
  }

  /**
   * Peer exchange: tells `peer` of other members (at most PEX_MAX), inside the session, so the
   * DHT is needed only to find the first member. Returns whether it went out (a live session).
   */
  sendPeerExchange(peer: Peer, entries: PexEntry[]): boolean {
    const ok = this.sendPlain(peer, encodePex(entries.slice(0, PEX_MAX)));
    if (ok) this.flush();
    return ok;
  }

  /**
   * Native wire: a probe for the peer's round trip and loss (session/quality.ts), if it has a
   * direct session now. The peer echoes it; a relayed peer is not probed.
   */
  probe(peer: Peer, now = this.seams.now()): boolean {
    const kp = this.wire.kind === 'native' ? this.plainKeypair(peer, now) : null;
    if (!kp) return false;
    const msg = new Uint8Array(5);
    msg[0] = PROBE;
    new DataView(msg.buffer).setUint32(1, peer.quality.probeSent(now));
    this.seal(peer, kp, msg, now);
    this.flush();
    return true;
  }

  /**
   * A control message to a member, inside its session (native wire, a direct path): JSON of at
   * most CONTROL_MAX bytes. Returns whether it went out.
   */
  sendControl(peer: Peer, msg: object): boolean {
    const json = new TextEncoder().encode(JSON.stringify(msg));
    if (this.wire.kind !== 'native' || json.length > CONTROL_MAX) return false;
    const plain = new Uint8Array(3 + json.length);
    plain[0] = CONTROL;
    plain[1] = json.length >> 8;
    plain[2] = json.length & 0xff;
    plain.set(json, 3);
    const ok = this.sendPlain(peer, plain);
    if (ok) this.flush();
    return ok;
  }

  /** Queues a circuit link message in `peer`'s session (circuit/engine.ts); the caller flushes. */
  sendLink(peer: Peer, msg: Uint8Array): boolean {
    return this.wire.kind === 'native' && msg.length <= this.config.interface.mtu && this.sendPlain(peer, msg);
  }

  /** Once a second: every peer's byte counters into its smoothed rates. */
  sampleQuality(now = this.seams.now()): void {
    for (const p of this.peers) p.quality.sampleBytes(p.stats.rxBytes, p.stats.txBytes, now);
  }

  /** Sends a control plaintext in `peer`'s session (no staging: without a session it is dropped). */
  private sendPlain(peer: Peer, plain: Uint8Array, now = this.seams.now()): boolean {
    const kp = this.plainKeypair(peer, now);
    if (!kp) return false;
    this.seal(peer, kp, plain, now);
    return true;
  }

  /** The keypair a control plaintext to `peer` goes out under: a live session on a direct path. */
  private plainKeypair(peer: Peer, now: number): Keypair | null {
    const kp = this.sendingKeypair(peer, now);
    return kp && peer.endpoint && !peer.endpoint.relay ? kp : null;
  }

  private receiveRelay(from: Peer, msg: Uint8Array, now: number): void {
    const length = msg.length >= RELAY_HEADER ? (msg[1]! << 8) | msg[2]! : -1;
    if (length < 1 || RELAY_HEADER + length > msg.length) {
      this.counters.relayRefused++;
      return;
    }
    const key = msg.subarray(3, 35);
    const dgram = msg.subarray(RELAY_HEADER, RELAY_HEADER + length);
    if (msg[0] === RELAY_FORWARD) {
      const to = this.byKey.get(keyId(key));
      if (!this.relaying || !to || to === from || !to.endpoint || to.endpoint.relay || !this.relayPairAllowed(from, to, now) || !this.carryFor(from, dgram.length, now) ||
        !this.sendPlain(to, relayMessage(RELAY_DELIVER, from.publicKey, dgram), now)) {
        this.counters.relayRefused++;
        return;
      }
      this.counters.relayForwarded++;
      return;
    }
    // Delivered: the datagram of the member `key`, through `from`. It must authenticate as that member.
    this.counters.relayDelivered++;
    this.receiveFrom(dgram.slice(), { family: 4, address: 'relay', port: 0, relay: { via: from.publicKey, to: key.slice() } }, now);
  }

  /**
   * At most [limits] max_relayed_pairs member pairs are relayed at once; a pair idle for
   * RELAY_PAIR_IDLE_MS gives its place up. A new pair beyond the cap is refused (counted).
   */
  private relayPairAllowed(from: Peer, to: Peer, now: number): boolean {
    const pair = Math.min(from.slot, to.slot) * 0x10000 + Math.max(from.slot, to.slot);
    if (!this.relayPairs.has(pair) && this.relayPairs.size >= this.config.limits.maxRelayedPairs) {
      for (const [p, last] of this.relayPairs) if (now - last > RELAY_PAIR_IDLE_MS) this.relayPairs.delete(p);
      if (this.relayPairs.size >= this.config.limits.maxRelayedPairs) {
        this.counters.relayPairsRefused++;
        return false;
      }
    }
    this.relayPairs.set(pair, now);
    return true;
  }

  /**
   * Whether `bytes` more may be carried for `member` now ([relay] member_rate_mbit: each member's
   * own token bucket; relayed datagrams and circuit cells alike). Over it: dropped and counted.
   */
  carryFor(member: Peer, bytes: number, now = this.seams.now()): boolean {
    const mbit = this.config.relay.memberRateMbit;
    if (mbit <= 0) return true;
    let b = this.carryBudgets.get(member.slot);
    if (!b) {
      const { rate, burst } = bucketFor(mbit);
      b = new TokenBucket(rate, burst, now);
      this.carryBudgets.set(member.slot, b);
    }
    if (b.take(bytes, now)) return true;
    this.counters.relayRateLimited++;
    return false;
  }

  /** How many member pairs this relay carries now. */
  relayedPairs(): number {
    return this.relayPairs.size;
  }

  /** Hands the datagrams queued so far to the socket in one call. */
  flush(): void {
    this.seams.sender?.flush();
    if (this.out.length === 0) {
      this.pool.reset(); // datagrams sealed for a relay were copied out; nothing holds the pool
      return;
    }
    this.counters.txDatagrams += this.out.length / 3;
    this.seams.sendMany(this.out);
    this.out.length = 0;
    this.pool.reset();
  }

  // ---------------------------------------------------------------- inbound

  /** One datagram from the socket. `data` may be modified in place. */
  inbound(data: Uint8Array, port: number, address: string): void {
    this.counters.rxDatagrams++;
    this.receiveFrom(data, null, this.seams.now(), port, address);
  }

  /**
   * A data message the data-plane worker opened in place and accepted into its session's replay
   * window at `now`, and left to this thread: a responder's first, one from a new endpoint, one
   * past its session's fast time, or one that is not an IP packet (keepalive, relay, probe,
   * control, circuit, peer exchange). `data` is the whole datagram, its header still masked.
   */
  inboundOpened(data: Uint8Array, index: number, port: number, address: string, now: number): void {
    const entry = this.indices.get(index);
    if (!entry?.keypair) {
      this.counters.dropUnknownIndex++; // retired since the worker opened it
      return;
    }
    if (now - entry.keypair.createdMs >= this.t.rejectAfterTime) {
      this.counters.dropExpiredKeypair++;
      return;
    }
    this.opened(data, entry.peer, entry.keypair, port, address, now, null);
    this.flush();
  }

  /** A datagram from the socket (`relayed` null) or delivered through a relay. */
  private receiveFrom(data: Uint8Array, relayed: Endpoint | null, now: number, port = 0, address = 'relay'): void {
    const hdr = this.header;
    // The current secret's wire first; after a rotation, the previous one's (its sessions carry on).
    for (let k = 0; k < 2; k++) {
      const slot = k === 0 ? this.currentSlot : 1 - this.currentSlot;
      const wire = this.wires[slot];
      if (!wire || !wire.readData(data, hdr)) continue;
      const entry = this.indices.get(hdr.index);
      if (entry?.keypair && entry.keypair.wireSlot === slot) {
        if (relayed && !sameKey(relayed.relay!.to, entry.peer.publicKey)) {
          this.counters.relayRefused++; // a relay may not speak for another member
          return;
        }
        this.receiveTransport(data, entry.peer, entry.keypair, hdr.counter, port, address, now, relayed);
        this.flush();
        return;
      }
      if (wire.kind === 'wireguard') {
        this.counters.dropUnknownIndex++;
        return;
      }
    }
    let hs: Opened | null = null;
    let slot = this.currentSlot;
    for (let k = 0; k < 2 && !hs; k++) {
      slot = k === 0 ? this.currentSlot : 1 - this.currentSlot;
      hs = this.wires[slot]?.openHandshake(data) ?? null;
    }
    if (!hs) {
      // Native: neither a session of ours nor a handshake envelope. Never answered.
      this.counters.dropMalformed++;
      return;
    }
    const source = relayed ?? endpointOf(port, address);
    switch (hs.type) {
      case MESSAGE_INITIATION:
        this.handshakes.receiveInitiation(hs.message, hs.capabilities, source, now, slot);
        break;
      case MESSAGE_RESPONSE:
        this.handshakes.receiveResponse(hs.message, hs.capabilities, source, now, slot);
        break;
      case MESSAGE_COOKIE_REPLY:
        this.handshakes.receiveCookieReply(hs.message);
        break;
    }
    this.flush();
  }

  private receiveTransport(data: Uint8Array, peer: Peer, kp: Keypair, counter: number, port: number, address: string, now: number, relayed: Endpoint | null = null): void {
    if (counter < 0 || now - kp.createdMs >= this.t.rejectAfterTime) {
      this.counters.dropExpiredKeypair++;
      return;
    }
    const h = this.wire.headerBytes;
    if (!kp.openInPlace(counter, data, h, data.length)) {
      this.counters.dropAuth++;
      return;
    }
    if (!kp.replay.accept(counter, REJECT_AFTER_MESSAGES)) {
      this.counters.dropReplay++;
      return;
    }
    this.opened(data, peer, kp, port, address, now, relayed);
  }

  /** An authenticated data message, its counter accepted: the session's and the peer's state, then its content. */
  private opened(data: Uint8Array, peer: Peer, kp: Keypair, port: number, address: string, now: number, relayed: Endpoint | null): void {
    const h = this.wire.headerBytes;
    if (peer.next === kp) this.handshakes.promoteNext(peer, now);
    // Roaming: the endpoint follows the latest authenticated packet (§2) — but a direct path
    // heard from recently is not given up for a relayed packet still in flight.
    const ep = peer.endpoint;
    if (relayed) {
      if (!ep?.relay || !sameKey(ep.relay.via, relayed.relay!.via)) {
        if (now - peer.lastDirectMs > DIRECT_GRACE_MS || !ep) {
          peer.endpoint = relayed;
          this.publish(peer);
        }
      }
    } else {
      peer.lastDirectMs = now;
      if (!ep || ep.relay || ep.port !== port || ep.address !== address) {
        peer.endpoint = endpointOf(port, address);
        this.publish(peer);
      }
    }
    peer.lastReceivedMs = now;
    peer.quality.heard(now);
    peer.newHandshakeDueMs = 0;
    this.seams.sender?.clearUnanswered(peer.slot);
    // §6.2: an initiator whose keys near REJECT_AFTER_TIME rekeys on receive too.
    if (kp.isInitiator && peer.handshake === null &&
        now - kp.createdMs >= this.t.rejectAfterTime - this.t.keepaliveTimeout - this.t.rekeyTimeout) {
      this.handshakes.initiate(peer, false);
    }
    const len = data.length - h - TAG_SIZE;
    // A keepalive: empty (WireGuard) or all padding, whose first byte is zero (native).
    if (len === 0 || (this.wire.kind === 'native' && data[h] === 0)) {
      this.counters.keepalivesReceived++;
      return;
    }
    if (peer.keepaliveDueMs === 0) peer.keepaliveDueMs = now + this.t.keepaliveTimeout;
    const pkt = data.subarray(h, h + len);
    if (this.wire.kind === 'native' && (pkt[0] === RELAY_FORWARD || pkt[0] === RELAY_DELIVER)) {
      this.receiveRelay(peer, pkt, now);
      return;
    }
    if (this.wire.kind === 'native' && (pkt[0] === PROBE || pkt[0] === PROBE_REPLY)) {
      if (len < 5) {
        this.counters.dropMalformed++;
        return;
      }
      const id = new DataView(pkt.buffer, pkt.byteOffset, 5).getUint32(1);
      if (pkt[0] === PROBE) {
        const reply = new Uint8Array(5);
        reply.set(pkt.subarray(0, 5));
        reply[0] = PROBE_REPLY;
        this.sendPlain(peer, reply, now); // sent with this datagram's flush
      } else if (!peer.quality.probeAnswered(id, now)) {
        this.counters.probeRepliesUnmatched++;
      }
      return;
    }
    if (this.wire.kind === 'native' && pkt[0]! >= CIRCUIT_FIRST && pkt[0]! <= CIRCUIT_LAST) {
      if (this.seams.onCircuit) this.seams.onCircuit(peer, pkt);
      else this.counters.dropMalformed++;
      return;
    }
    if (this.wire.kind === 'native' && pkt[0] === CONTROL) {
      const length = len >= 3 ? (pkt[1]! << 8) | pkt[2]! : -1;
      let msg: unknown = undefined;
      if (length > 0 && length <= CONTROL_MAX && 3 + length <= len) {
        try {
          msg = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(pkt.subarray(3, 3 + length)));
        } catch {
          msg = undefined;
        }
      }
      if (msg === undefined || msg === null || typeof msg !== 'object') this.counters.dropMalformed++;
      else this.seams.onControl?.(peer, msg);
      return;
    }
    if (this.wire.kind === 'native' && pkt[0] === PEER_EXCHANGE) {
      const entries = decodePex(pkt);
      if (entries) this.seams.onPeerExchange?.(peer, entries);
      else this.counters.dropMalformed++;
      return;
    }
    const version = ipVersion(pkt, len);
    const ipLen = version === 0 ? 0 : ipPacketLength(pkt, len, version);
    if (version === 0 || ipLen === 0) {
      this.counters.dropMalformed++;
      return;
    }
    // The source must be the peer's: its allowed IPs, or (an exit) internet addresses — the
    // default route's, or a per-device exit's.
    if (this.routes.lookup(pkt, srcOffset(version), version) !== peer &&
        !(version === 4 && this.routes.matchedBits === 0 && this.deviceExitList.includes(peer))) {
      this.counters.dropSourceNotAllowed++;
      return;
    }
    peer.stats.rxPackets++;
    peer.stats.rxBytes += ipLen;
    if (!this.seams.tunWrite(pkt.subarray(0, ipLen))) this.counters.dropTunFull++;
  }

  // ---------------------------------------------------------------- timers

  /** Called periodically (the daemon: every 100 ms): WireGuard's timers (§6) for every peer (session/timers.ts). */
  tick(): void {
    const now = this.seams.now();
    const r = this.seams.receiver?.takeCounts();
    if (r) {
      // The worker's receive counts, into the same counters (a raw datagram it handed over was counted here).
      const c = this.counters;
      c.rxDatagrams += r.received - r.raw;
      c.dropAuth += r.auth;
      c.dropReplay += r.replay;
      c.dropSourceNotAllowed += r.source;
      c.dropTunFull += r.tunFull;
      c.dropBusy += r.busy;
      c.dropMalformed += r.tooBig;
    }
    for (const peer of this.peers) runPeerTimers(this, peer, now, this.t);
    this.flush();
  }

  /** For the timers (TimerHost). */
  log(line: string): void {
    this.seams.log?.(line);
  }
}

/**
 * What to tell `to` in one peer exchange: first where we see it (its NAT's mapping, which it
 * cannot see from inside), then up to PEX_MAX − 1 of the other live members drawn at random, so
 * that over a few rounds every member hears of every other even when more than PEX_MAX are live
 * (a fixed cut told the same 15 forever: found in the 50-member soak).
 */
export function pexEntriesFor(to: Peer, alive: readonly Peer[], random: () => number = Math.random): PexEntry[] {
  const out: PexEntry[] = [];
  if (to.endpoint && !to.endpoint.relay) out.push({ publicKey: to.publicKey, endpoint: to.endpoint });
  const others = alive.filter((p) => p !== to);
  for (let i = others.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [others[i], others[j]] = [others[j]!, others[i]!];
  }
  for (const p of others.slice(0, PEX_MAX - out.length)) out.push({ publicKey: p.publicKey, endpoint: p.endpoint?.relay ? null : p.endpoint });
  return out;
}

const PEER_EXCHANGE = 0x12;
/** [0x13][id u32] a probe; [0x14][id u32] its echo (session/quality.ts). */
const PROBE = 0x13;
const PROBE_REPLY = 0x14;
/** 0x16–0x19: circuit link messages (circuit/engine.ts). */
const CIRCUIT_FIRST = 0x16;
const CIRCUIT_LAST = 0x19;
/** [0x15][length u16][JSON]: a control message between members (inbound ports: daemon.ts). */
const CONTROL = 0x15;
export const CONTROL_MAX = 1024;
/** A relayed pair silent this long no longer counts against [limits] max_relayed_pairs. */
export const RELAY_PAIR_IDLE_MS = 60_000;
export const PEX_MAX = 16;
const PEX_ENTRY = 32 + 4 + 2;

/** [0x12][count u8] then per member: static key 32 | IPv4 4 | port u16 (0.0.0.0:0 = no endpoint). */
function encodePex(entries: PexEntry[]): Uint8Array {
  const out = new Uint8Array(2 + entries.length * PEX_ENTRY);
  out[0] = PEER_EXCHANGE;
  out[1] = entries.length;
  entries.forEach((e, i) => {
    const at = 2 + i * PEX_ENTRY;
    out.set(e.publicKey, at);
    const ip = e.endpoint && !e.endpoint.relay && e.endpoint.family === 4 ? e.endpoint.address.split('.').map(Number) : [0, 0, 0, 0];
    out.set(ip, at + 32);
    const port = e.endpoint && !e.endpoint.relay ? e.endpoint.port : 0;
    out[at + 36] = port >> 8;
    out[at + 37] = port & 0xff;
  });
  return out;
}

/** null when malformed (the plaintext is padded: trailing bytes after the entries are allowed). */
function decodePex(msg: Uint8Array): PexEntry[] | null {
  const count = msg[1] ?? 0;
  if (count > PEX_MAX || msg.length < 2 + count * PEX_ENTRY) return null;
  const out: PexEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = 2 + i * PEX_ENTRY;
    const ip = msg.subarray(at + 32, at + 36);
    const port = (msg[at + 36]! << 8) | msg[at + 37]!;
    const none = port === 0 || ip.every((b) => b === 0);
    out.push({ publicKey: msg.slice(at, at + 32), endpoint: none ? null : { family: 4, address: Array.from(ip).join('.'), port } });
  }
  return out;
}

const RELAY_FORWARD = 0x10;
const RELAY_DELIVER = 0x11;
const RELAY_HEADER = 1 + 2 + 32;
/** A relayed packet does not move a peer off a direct path heard from within this long. */
const DIRECT_GRACE_MS = 15_000;

function relayMessage(type: number, key: Uint8Array, dgram: Uint8Array): Uint8Array {
  const out = new Uint8Array(RELAY_HEADER + dgram.length);
  out[0] = type;
  out[1] = dgram.length >> 8;
  out[2] = dgram.length & 0xff;
  out.set(key, 3);
  out.set(dgram, RELAY_HEADER);
  return out;
}

function endpointOf(port: number, address: string): Endpoint {
  return { family: address.includes(':') ? 6 : 4, address, port };
}

function keyId(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}
