// Appliances on the same LAN find each other without the DHT: every BEACON_MS each one sends its
// member record (record.ts: signed by its identity, sealed — here with a LAN key derived from the
// network secret) to a link-local multicast group on every IPv4 interface but the tunnel's, with
// TTL 1. A beacon that opens (same network, signature, fresh) is handed over like a DHT record.
//
// Exposure: on the LAN, a datagram every few seconds to 239.255.87.69 at a port derived from the
// secret, whose bytes are ciphertext. Outside the LAN: nothing (TTL 1, administratively scoped group).

import { isWarrenInterface } from '../system/link.ts';
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { hkdf } from '@noble/hashes/hkdf.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { openRecord, sealRecord, type Endpoint, type MemberRecord } from './record.ts';

export const LAN_GROUP = '239.255.87.69';
export const BEACON_MS = 5_000;
const SALT = new TextEncoder().encode('warren discovery v1');

/** The beacon key and UDP port of a network (the port varies with the secret: no fixed port to look for). */
export function lanParameters(secret: Uint8Array): { key: Uint8Array; port: number } {
  const out = hkdf(blake2s, secret, SALT, new TextEncoder().encode('lan beacon'), 34);
  return { key: out.slice(0, 32), port: 20000 + ((((out[32] ?? 0) << 8) | (out[33] ?? 0)) % 40000) };
}

export interface LanBeaconOptions {
  secret: Uint8Array;
  staticKey: Uint8Array;
  identitySeed: Uint8Array;
  /** The tunnel's interface (never beaconed on). */
  tunName: string;
  endpoints: () => Endpoint[];
  offers: { readonly relay: boolean; readonly exit: boolean };
  onMember: (record: MemberRecord) => void;
  log: (line: string) => void;
  intervalMs?: number;
}

export class LanBeacon {
  private socket: dgram.Socket | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private key: Uint8Array;
  private port: number;
  private joined = new Set<string>();
  readonly stats = { sent: 0, received: 0, members: 0 };

  constructor(private readonly o: LanBeaconOptions) {
    ({ key: this.key, port: this.port } = lanParameters(o.secret));
  }

  /** The interfaces' IPv4 addresses to beacon from (not loopback, not the tunnel). */
  private addresses(): string[] {
    return Object.entries(networkInterfaces())
      .filter(([name]) => !isWarrenInterface(name, this.o.tunName))
      .flatMap(([, list]) => (list ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address));
  }

  start(): Promise<void> {
    return new Promise((resolve) => {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      this.socket = socket;
      socket.on('error', (e) => this.o.log(`lan: ${e.message}`));
      socket.on('message', (msg) => this.receive(msg));
      socket.bind(this.port, () => {
        socket.setMulticastTTL(1);
        socket.setMulticastLoopback(false);
        this.beacon();
        this.timer = setInterval(() => this.beacon(), this.o.intervalMs ?? BEACON_MS);
        resolve();
      });
    });
  }

  private beacon(): void {
    const socket = this.socket;
    if (!socket) return;
    const sealed = sealRecord({ staticKey: this.o.staticKey, endpoints: this.o.endpoints(), offers: { ...this.o.offers }, timestamp: Math.floor(Date.now() / 1000) }, this.o.identitySeed, this.key);
    for (const address of this.addresses()) {
      try {
        // Joined per interface as addresses come and go (a DHCP lease after start, say).
        if (!this.joined.has(address)) {
          socket.addMembership(LAN_GROUP, address);
          this.joined.add(address);
        }
        socket.setMulticastInterface(address);
        socket.send(sealed, this.port, LAN_GROUP);
        this.stats.sent++;
      } catch (e) {
        this.o.log(`lan: beacon on ${address}: ${(e as Error).message}`);
      }
    }
  }

  private receive(msg: Uint8Array): void {
    const opened = openRecord(new Uint8Array(msg), this.key, Math.floor(Date.now() / 1000));
    if (!opened.ok) return; // another network, or noise: ignored
    this.stats.received++;
    if (Buffer.from(opened.record.staticKey).equals(Buffer.from(this.o.staticKey))) return;
    this.stats.members++;
    this.o.onMember(opened.record);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.socket?.close();
    this.socket = null;
    this.joined = new Set();
  }

  /** The network secret was rotated: beacons (key and port) follow the new one. */
  async setSecret(secret: Uint8Array): Promise<void> {
    const running = this.socket !== null;
    this.stop();
    ({ key: this.key, port: this.port } = lanParameters(secret));
    if (running) await this.start();
  }
}
