// The tunnel's UDP socket, one port for data, handshakes and the DHT. Two kinds:
//   worker  opened here through bun:ffi (ffi/dataplane.c); the data-plane worker polls and
//           receives on it, and hands this thread what it does not deliver itself
//           (OutboundHost.receive). This thread only sends on it (handshakes, DHT messages).
//   bun     Bun.udpSocket, received on this thread's event loop (WARREN_OUTBOUND=main, the
//           in-process data plane, kept for comparison in benchmarks).

import { closeFd, openUdpSocket, sendTo } from '../../ffi/dataplane.ts';
import { findUdpSocketFd } from '../../ffi/socket-buffers.ts';

export interface TunnelSocket {
  readonly port: number;
  /** Its descriptor (null: Bun's, not found). */
  readonly fd: number | null;
  /** True when the data-plane worker receives on it. */
  readonly onWorker: boolean;
  /** One datagram; throws with the reason when the kernel refused it. */
  send(data: Uint8Array, port: number, address: string): void;
  /** (bytes, port, address) triples; returns how many went out. Errors are reported, not thrown. */
  sendMany(list: (Uint8Array | number | string)[]): number;
  close(): void;
}

/** The address as a big-endian u32, or -1 when it is not dotted IPv4. */
function ipv4Number(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4) return -1;
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) return -1;
    n = n * 256 + v;
  }
  return n;
}

/** A socket the data-plane worker receives on; `onError` hears of failed sends. */
export function workerSocket(port: number, onError: (e: Error) => void): TunnelSocket {
  const { fd, port: bound } = openUdpSocket(port);
  const send = (data: Uint8Array, p: number, address: string): void => {
    const ip = ipv4Number(address);
    if (ip < 0) throw new Error(`not an IPv4 address: ${address}`);
    const r = sendTo(fd, data, p, ip);
    if (r < 0) throw new Error(`send to ${address}:${p} failed (errno ${-r})`);
  };
  return {
    port: bound,
    fd,
    onWorker: true,
    send,
    sendMany(list) {
      let sent = 0;
      for (let i = 0; i + 2 < list.length; i += 3) {
        try {
          send(list[i] as Uint8Array, list[i + 1] as number, list[i + 2] as string);
          sent++;
        } catch (e) {
          onError(e as Error);
        }
      }
      return sent;
    },
    close: () => closeFd(fd),
  };
}

/** Bun's socket, received on this thread: every datagram to `deliver`. */
export async function bunSocket(
  port: number,
  deliver: (data: Uint8Array, port: number, address: string) => void,
  onError: (e: unknown) => void,
): Promise<TunnelSocket> {
  const socket = await Bun.udpSocket({
    hostname: '0.0.0.0',
    port,
    socket: {
      data(_s, data, p, address) {
        deliver(data, p, address);
      },
      // Bun reports ICMP errors here, sometimes with no error object.
      error(_s, err) {
        onError(err);
      },
    },
  });
  return {
    port: socket.port,
    fd: findUdpSocketFd(socket.port),
    onWorker: false,
    send: (data, p, address) => {
      socket.send(data, p, address);
    },
    sendMany(list) {
      // A send reports the error an earlier ICMP message left pending on the socket (a peer's
      // port closed while it restarted) by throwing; that call sent nothing and cleared it: again.
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          return socket.sendMany(list);
        } catch (e) {
          onError(e);
        }
      }
      return 0;
    },
    close: () => socket.close(),
  };
}
