// Raising a UDP socket's kernel buffers. Bun.udpSocket does not expose its descriptor or
// setsockopt, so the descriptor is found the way `ss -p` does: the socket's inode from
// /proc/self/net/udp (by local port), then the /proc/self/fd entry that links to that inode.
//
// Why: with the default ~208 KB receive buffer, bursts from a fast peer overflow while the
// main thread is writing to the TUN (measured: 15,915 of 150,672 datagrams lost in 5 s of
// TCP, each one a TCP retransmission). SO_RCVBUFFORCE/SO_SNDBUFFORCE need CAP_NET_ADMIN,
// which the daemon has; without it the plain options apply, capped by net.core.*mem_max.

import { dlopen, FFIType } from 'bun:ffi';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const SOL_SOCKET = 1; // asm-generic/socket.h
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;

const lib = dlopen('libc.so.6', {
  setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
});

/** The descriptor of this process's UDP socket bound to `port` (IPv4 table), or null. */
export function findUdpSocketFd(port: number): number | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let inode: string | undefined;
  for (const table of ['/proc/self/net/udp', '/proc/self/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`)) inode = f[9];
    }
    if (inode) break;
  }
  if (!inode) return null;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === `socket:[${inode}]`) return Number(fd);
    } catch {
      // the descriptor closed while we looked
    }
  }
  return null;
}

/** Sets send and receive buffers to `bytes` (forced past the sysctl caps where allowed); returns what the kernel granted. */
export function setSocketBuffers(fd: number, bytes: number): { receive: number; send: number } {
  const v = new Int32Array([bytes]);
  for (const [force, plain] of [[SO_RCVBUFFORCE, SO_RCVBUF], [SO_SNDBUFFORCE, SO_SNDBUF]] as const) {
    if (lib.symbols.setsockopt(fd, SOL_SOCKET, force, v, 4) !== 0) lib.symbols.setsockopt(fd, SOL_SOCKET, plain, v, 4);
  }
  const get = (opt: number): number => {
    const out = new Int32Array(1);
    const len = new Uint32Array([4]);
    return lib.symbols.getsockopt(fd, SOL_SOCKET, opt, out, len) === 0 ? (out[0] ?? 0) : 0;
  };
  return { receive: get(SO_RCVBUF), send: get(SO_SNDBUF) };
}
