// The part of bittorrent-dht 11.0.12 (client.js) that dht.ts uses; the package ships no types.
// Options not listed here are passed through to k-rpc and k-rpc-socket (`socket`, `isIP`,
// `timeout`), which is how the lab guard reaches the UDP socket.

declare module 'bittorrent-dht' {
  import type { EventEmitter } from 'node:events';

  export interface DhtNodeAddress {
    host: string;
    port: number;
    id?: Buffer;
  }

  export interface DhtClientOptions {
    /** `host:port` strings or objects; `false` for none (the first node of a lab network). */
    bootstrap?: false | Array<string | DhtNodeAddress>;
    verify?: (signature: Buffer, message: Buffer, publicKey: Buffer) => boolean;
    /** k-rpc-socket: the UDP socket to use instead of a fresh `udp4` one. */
    socket?: unknown;
    /** k-rpc-socket: decides whether a host needs a DNS lookup before a query. */
    isIP?: (host: string) => number;
    /** k-rpc-socket: query timeout in ms (default 2000). */
    timeout?: number;
    maxValues?: number;
    maxTables?: number;
  }

  export interface MutablePut {
    k: Buffer;
    v: Buffer;
    seq: number;
    salt?: Buffer;
    cas?: number;
    sign?: (message: Buffer) => Buffer;
    sig?: Buffer;
  }

  export interface GetResult {
    v: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
    id?: Buffer;
  }

  export default class DHT extends EventEmitter {
    constructor(opts?: DhtClientOptions);
    readonly nodeId: Buffer;
    readonly listening: boolean;
    readonly destroyed: boolean;
    readonly ready?: boolean;
    listen(port?: number, host?: string, onlistening?: () => void): void;
    address(): { address: string; family: string; port: number };
    addNode(node: DhtNodeAddress): void;
    put(opts: MutablePut, cb?: (err: Error | null, target: Buffer, nodes: number) => void): Buffer;
    get(target: Buffer, opts: { salt?: Buffer; cache?: boolean; verify?: DhtClientOptions['verify'] }, cb: (err: Error | null, res: GetResult | null) => void): void;
    toJSON(): { nodes: DhtNodeAddress[] };
    /** BEP 5 announce_peer; port 0 = implied_port (the nodes store the port they see). */
    announce(infoHash: Buffer, port: number, cb?: (err: Error | null) => void): void;
    /** BEP 5 get_peers; found peers arrive as 'peer' events (peer, infoHash, from). */
    lookup(infoHash: Buffer, cb?: (err: Error | null, found?: number) => void): () => void;
    destroy(cb?: () => void): void;
  }
}

declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array): unknown;
  };
  export default bencode;
}
