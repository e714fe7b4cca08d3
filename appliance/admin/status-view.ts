// The daemon's status object (the control socket's /status, built in appliance/daemon.ts) as the
// admin shows it: totals, who is online, the exit in use and the health lights. Pure.

import type { AdminPeer, AdminStatus, InboundPort } from '../control/admin-types.ts';

/** A peer is online while its last handshake is younger than Reject-After-Time (WireGuard whitepaper §6.1): older keys carry nothing. */
export const ONLINE_SECONDS = 180;

/** One peer in the daemon's status; the fields the admin reads. */
export interface DaemonPeerStatus {
  name: string;
  publicKey: string;
  endpoint: string | null;
  lastHandshakeSecondsAgo: number | null;
  rxBytes: number;
  txBytes: number;
  /** Absent: direct (relaying is not built yet). */
  path?: 'direct' | 'relay';
  /** Absent: not measured yet (peer quality comes with circuits). */
  rttMs?: number | null;
  lossPercent?: number | null;
  rxBytesPerSecond?: number;
  txBytesPerSecond?: number;
  upSeconds?: number | null;
}

/** The daemon's status, as far as the admin reads it (the daemon's object has more). */
export interface DaemonStatus {
  interface: string;
  publicKey: string;
  uptimeSeconds: number;
  peers: readonly DaemonPeerStatus[];
  /** null: not a gateway (no [gateway] section). */
  gateway: { exit: { name: string; publicKey: string } | null; dns: boolean; killSwitch: string } | null;
  /** Inbound ports (gateway/port-service.ts); absent or null on an appliance with neither role. */
  ports?: {
    home: readonly { client: string; proto: 'tcp' | 'udp'; internal: number; external: number; exitAddress: string | null; expiresInSeconds: number }[];
    exit: readonly { proto: 'tcp' | 'udp'; external: number; memberAddr: string; inner: number; expiresInSeconds: number }[];
  } | null;
}

const online = (p: DaemonPeerStatus) => p.lastHandshakeSecondsAgo !== null && p.lastHandshakeSecondsAgo < ONLINE_SECONDS;

/**
 * The dashboard's figures. `whenDown` names the appliance while no tunnel runs (first run, or
 * between creating a network and the tunnel coming up): then every figure is zero or null.
 */
export function adminStatus(s: DaemonStatus | null, whenDown: () => { interfaceName: string; publicKey: string }): AdminStatus {
  if (!s) {
    return { ...whenDown(), uptimeSeconds: 0, rxBytes: 0, txBytes: 0, peersOnline: 0, peersTotal: 0, exit: null, health: { tunnel: false, dns: false, killSwitch: false } };
  }
  const up = s.peers.filter(online);
  const exit = s.gateway?.exit ?? null;
  return {
    interfaceName: s.interface,
    publicKey: s.publicKey,
    uptimeSeconds: s.uptimeSeconds,
    rxBytes: s.peers.reduce((n, p) => n + p.rxBytes, 0),
    txBytes: s.peers.reduce((n, p) => n + p.txBytes, 0),
    peersOnline: up.length,
    peersTotal: s.peers.length,
    exit: exit ? { name: exit.name, publicKey: exit.publicKey, latencyMs: s.peers.find((p) => p.publicKey === exit.publicKey)?.rttMs ?? null } : null,
    // The kill switch is kernel rules that exist whenever the appliance is a gateway (system/nft.ts).
    health: { tunnel: up.length > 0, dns: s.gateway?.dns ?? false, killSwitch: s.gateway !== null },
  };
}

export function adminPeers(s: DaemonStatus | null): AdminPeer[] {
  return (s?.peers ?? []).map((p) => ({
    name: p.name,
    publicKey: p.publicKey,
    endpoint: p.endpoint,
    rttMs: p.rttMs ?? null,
    lossPercent: p.lossPercent ?? null,
    rxBytes: p.rxBytes,
    txBytes: p.txBytes,
    rxBytesPerSecond: p.rxBytesPerSecond ?? 0,
    txBytesPerSecond: p.txBytesPerSecond ?? 0,
    upSeconds: p.upSeconds ?? null,
    path: p.path ?? 'direct',
    lastHandshakeSecondsAgo: p.lastHandshakeSecondsAgo,
  }));
}

export function adminPorts(s: DaemonStatus | null): { devices: InboundPort[]; asExit: InboundPort[] } {
  const p = s?.ports;
  return {
    devices: (p?.home ?? []).map((m) => ({ proto: m.proto, external: `${m.exitAddress ?? 'exit'}:${m.external}`, to: `${m.client}:${m.internal}`, expiresInSeconds: m.expiresInSeconds })),
    asExit: (p?.exit ?? []).map((l) => ({ proto: l.proto, external: String(l.external), to: `${l.memberAddr}:${l.inner}`, expiresInSeconds: l.expiresInSeconds })),
  };
}
