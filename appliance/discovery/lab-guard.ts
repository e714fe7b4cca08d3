/**
 * The lab guard: with WARREN_LAB=1 (tests and the lab set it) Warren's DHT may talk only to
 * loopback (127.0.0.0/8, ::1) and the lab ranges passed explicitly. Anything else — a public
 * router, an address a remote node handed us, a host name that would need DNS — throws a
 * LabGuardError *before* the datagram (or DNS query) leaves, so a mistake is loud, not a leak.
 *
 * It sits on the socket's `send`, the one path every outgoing DHT message takes
 * (k-rpc-socket `RPC.prototype.send`), and on k-rpc-socket's `isIP` hook, which would otherwise
 * resolve a host name through DNS before querying it.
 */
import { BlockList, isIP } from 'node:net';

export type LabGuardErrorKind = 'outside-lab' | 'not-an-ip' | 'bad-range';

export class LabGuardError extends Error {
  override readonly name = 'LabGuardError';
  constructor(
    readonly kind: LabGuardErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface LabGuard {
  /** Throws LabGuardError unless `host` is an IP literal inside the lab. */
  check(host: unknown, port?: unknown): void;
  readonly ranges: readonly string[];
}

const LOOPBACK_RANGES = ['127.0.0.0/8', '::1/128'];

/** A guard allowing loopback and `ranges` (CIDR strings such as `10.99.0.0/16`). */
export function createLabGuard(ranges: readonly string[] = []): LabGuard {
  const all = [...LOOPBACK_RANGES, ...ranges];
  const allowed = new BlockList();
  for (const range of all) {
    const [addr, bits, ...extra] = range.split('/');
    const family = isIP(addr ?? '');
    const prefix = Number(bits);
    const max = family === 6 ? 128 : 32;
    if (!family || extra.length || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new LabGuardError('bad-range', `lab range ${JSON.stringify(range)} is not a CIDR like 10.99.0.0/16`);
    }
    allowed.addSubnet(addr as string, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return {
    ranges: all,
    check(host: unknown, port?: unknown): void {
      const where = `${String(host)}${port === undefined ? '' : `:${String(port)}`}`;
      const family = typeof host === 'string' ? isIP(host) : 0;
      if (!family) {
        throw new LabGuardError('not-an-ip', `WARREN_LAB=1: refusing to contact ${where}: not an IP literal (it would need DNS, which leaves the lab); bootstrap from lab nodes such as 127.0.0.1:PORT`);
      }
      if (!allowed.check(host as string, family === 6 ? 'ipv6' : 'ipv4')) {
        throw new LabGuardError('outside-lab', `WARREN_LAB=1: refusing to send to ${where}: outside loopback and the lab ranges (${all.join(', ')}); pass lab nodes as bootstrap, never public routers`);
      }
    },
  };
}

/** The guard the environment asks for: one when WARREN_LAB=1, none otherwise. */
export function labGuardFromEnv(env: Record<string, string | undefined>, ranges: readonly string[] = []): LabGuard | null {
  return env.WARREN_LAB === '1' ? createLabGuard(ranges) : null;
}

/** The shape of a Node/Bun dgram socket's `send` that matters here. */
export interface SendingSocket {
  send(...args: unknown[]): unknown;
}

/**
 * Wraps `socket.send` in place so every datagram's destination passes `guard.check` first.
 * Handles both dgram forms: send(msg, offset, length, port, address, cb) — the one k-rpc-socket
 * uses — and send(msg, port, address, cb). A send without an explicit address is refused.
 */
export function guardSocket<S extends SendingSocket>(socket: S, guard: LabGuard): S {
  const send = socket.send.bind(socket);
  socket.send = (...args: unknown[]): unknown => {
    const long = typeof args[1] === 'number' && typeof args[2] === 'number';
    const port = long ? args[3] : args[1];
    const address = long ? args[4] : args[2];
    guard.check(address, port);
    return send(...args);
  };
  return socket;
}
