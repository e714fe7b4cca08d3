// The DHT on the tunnel's own UDP socket. A node behind a NAT must publish the public address
// and port its tunnel socket is seen at; DHT nodes see exactly that when the DHT speaks from the
// same socket, and a BEP 5 announce with implied_port stores it (rendezvous.ts announceTarget).
// The daemon's receive callback hands KRPC messages (bencoded dictionaries) here and everything
// else to the data plane.
//
// An appliance is a read-only DHT node (BEP 43): its queries carry `ro: 1` and it answers no
// query. Behind a NAT its address is not reachable by others — a symmetric NAT even shows each
// DHT node another port — so as a routing-table entry it would only make lookups wait for
// timeouts, and items stored at it would be lost to everyone else.

import { EventEmitter } from 'node:events';
import bencode from 'bencode';

export interface DatagramSender {
  send(data: Uint8Array, port: number, address: string): unknown;
  readonly port: number;
}

/** True for what can only be a KRPC message: `d…e` with a `y` key (BEP 5). Native datagrams are random; WireGuard's start with 1–4. */
export function looksLikeKrpc(d: Uint8Array): boolean {
  if (d.length < 12 || d[0] !== 0x64 || d[d.length - 1] !== 0x65) return false;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).includes('1:y1:');
}

/** A dgram-socket look-alike over the daemon's socket, as bittorrent-dht (k-rpc-socket) uses one. */
export class SharedDhtSocket extends EventEmitter {
  /** Incoming queries not answered (read-only node). */
  queriesIgnored = 0;

  constructor(
    private readonly udp: DatagramSender,
    private readonly readOnly = true,
  ) {
    super();
  }

  bind(..._args: unknown[]): this {
    const cb = _args.find((a) => typeof a === 'function') as (() => void) | undefined;
    queueMicrotask(() => {
      this.emit('listening');
      cb?.();
    });
    return this;
  }

  address(): { address: string; family: string; port: number } {
    return { address: '0.0.0.0', family: 'IPv4', port: this.udp.port };
  }

  /**
   * Sends one query or reply. A send can throw the error an earlier ICMP message left pending on
   * the socket (ECONNREFUSED from a DHT node that went away); that send carried nothing and the
   * error is now cleared, so it is sent once more. A failure reaches `cb`, never the caller's
   * timer: a departed DHT node must not take the daemon down.
   */
  send(buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void {
    const data = this.readOnly ? markReadOnly(buf.subarray(offset, offset + length)) : buf.subarray(offset, offset + length);
    let error: Error | null = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.udp.send(data, port, host);
        error = null;
        break;
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
        this.sendErrors++;
      }
    }
    cb?.(error);
  }

  /** Sends that threw (pending ICMP errors, mostly); counted for status. */
  sendErrors = 0;

  /** A datagram from the daemon's socket for the DHT. */
  deliver(data: Uint8Array, port: number, address: string): void {
    if (this.readOnly && kindOf(data) === 'q') {
      this.queriesIgnored++;
      return;
    }
    this.emit('message', Buffer.from(data), { address, port, family: 'IPv4', size: data.length });
  }

  close(cb?: () => void): void {
    cb?.(); // the daemon owns the socket
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

function decodeDict(data: Uint8Array): Record<string, unknown> | null {
  try {
    const d = bencode.decode(data);
    return typeof d === 'object' && d !== null && !Array.isArray(d) && !(d instanceof Uint8Array) ? (d as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A KRPC message's `y`: 'q' query, 'r' response, 'e' error; null when it is not one. */
export function kindOf(data: Uint8Array): string | null {
  const y = decodeDict(data)?.y;
  return y instanceof Uint8Array ? new TextDecoder().decode(y) : null;
}

/** A query with BEP 43's `ro: 1` added; anything else unchanged. */
export function markReadOnly(data: Uint8Array): Uint8Array {
  const d = decodeDict(data);
  if (!d || !(d.y instanceof Uint8Array) || new TextDecoder().decode(d.y) !== 'q') return data;
  d.ro = 1;
  return bencode.encode(d);
}
