// The web admin's view of the appliance: `AdminApi`, which the daemon implements in-process
// (appliance/admin/daemon-api.ts) and webui/fake-api.ts implements in memory for the tests, the
// dev preview and the benchmark. Every method is async and takes and returns plain, JSON-able
// data, so the same interface could later be served over the control socket.
//
// It lives in control/ (not in webui/) because `AdminError` is a runtime class that both sides
// need: the appliance throws it and the admin tells its kinds apart with `instanceof`. Imports go
// one way (STYLE.md §5, test/unit/architecture.test.ts): the appliance may not import webui at
// runtime, and webui may import the appliance only through control — so the one class lives here
// and webui/api.ts re-exports it.
//
// Conventions: keys are WireGuard base64 (44 characters); byte counters are totals since the
// daemon started; times are ISO 8601 strings; "unknown" is null, never 0.

/** Where a LAN device's traffic goes: through the overlay, straight to the ISP, or nowhere. */
export type DevicePolicy = 'overlay' | 'direct' | 'block';
/** `'best'` lets Warren pick the exit (lowest latency); otherwise a peer's public key. */
export type ExitChoice = string;
export const BEST_EXIT = 'best';
export type Hops = 1 | 2 | 3;
/** `on`: traffic that should use the tunnel is dropped while it is down; `always`: also while Warren is stopped. */
export type KillSwitch = 'on' | 'always';
export type Padding = 'off' | 'bucket' | 'mtu';

export interface Health {
  tunnel: boolean;
  dns: boolean;
  killSwitch: boolean;
}

export interface ExitInUse {
  name: string;
  publicKey: string;
  latencyMs: number | null;
}

export interface AdminStatus {
  interfaceName: string;
  publicKey: string;
  uptimeSeconds: number;
  rxBytes: number;
  txBytes: number;
  peersOnline: number;
  peersTotal: number;
  /** null while no exit is in use (all devices direct, or no peer offers one). */
  exit: ExitInUse | null;
  health: Health;
}

export interface AdminPeer {
  name: string;
  publicKey: string;
  endpoint: string | null;
  rttMs: number | null;
  lossPercent: number | null;
  rxBytes: number;
  txBytes: number;
  /** Smoothed rates, bytes per second. */
  rxBytesPerSecond: number;
  txBytesPerSecond: number;
  /** Seconds up without a 15 s gap; null while down. */
  upSeconds: number | null;
  path: 'direct' | 'relay';
  /** null: never completed a handshake. */
  lastHandshakeSecondsAgo: number | null;
}

export interface LanDevice {
  mac: string;
  ip: string;
  hostname: string | null;
  policy: DevicePolicy;
  exit: ExitChoice;
  /** Its own hop count (through the overlay); absent: the privacy setting's. */
  hops?: Hops;
}

/** An inbound port a LAN device holds (NAT-PMP), or one this exit holds for a member. */
export interface InboundPort {
  proto: 'tcp' | 'udp';
  /** The exit's public address and port the internet connects to. */
  external: string;
  /** Where it leads: a LAN device's address and port (this appliance's), or a member's overlay address (this exit's). */
  to: string;
  expiresInSeconds: number;
}

export interface LeakReport {
  ok: boolean;
  checks: { name: string; ok: boolean | null; detail: string }[];
}

export interface DeviceSettings {
  policy: DevicePolicy;
  exit: ExitChoice;
  /** Absent: the privacy setting's hop count. */
  hops?: Hops;
}

export interface Member {
  publicKey: string;
  name: string;
  /** When it was recorded in this list. */
  since: string;
}

export interface NetworkInfo {
  hasNetwork: boolean;
  /** null while hasNetwork is false. */
  name: string | null;
  pending: Member[];
  approved: Member[];
  revoked: Member[];
  /** Rotations of the network secret so far (0: the secret the network was created with). */
  generation: number;
  /** Until when the secret before the last rotation is still accepted; null when it is not. Never the secrets. */
  previousUntil: string | null;
}

export interface PrivacySettings {
  hops: Hops;
  exit: ExitChoice;
  killSwitch: KillSwitch;
  dns: 'on' | 'off';
  padding: Padding;
}

export interface ExitOffer {
  enabled: boolean;
  /** The owner confirmed they understand that other members' traffic leaves from their address. */
  acceptRisk: boolean;
}

export type AdminErrorKind =
  | 'invalid' // the request was understood but refused (a bad invite, an exit offer without acceptRisk)
  | 'not-found' // no such device, member or peer
  | 'conflict' // not in this state (already has a network, no network yet)
  | 'unavailable'; // the daemon cannot do it right now

/** What AdminApi methods throw; `message` is shown to the owner, so it says what to do next. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly kind: AdminErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface AdminApi {
  status(): Promise<AdminStatus>;
  peers(): Promise<AdminPeer[]>;

  devices(): Promise<LanDevice[]>;
  /** Inbound ports: the LAN devices' (through their exit), and those this appliance holds as an exit for members. */
  ports(): Promise<{ devices: InboundPort[]; asExit: InboundPort[] }>;
  setDevicePolicy(mac: string, settings: DeviceSettings): Promise<LanDevice>;

  network(): Promise<NetworkInfo>;
  /** The invite text of the current network (secret inside: only shown on request). */
  invite(): Promise<string>;
  createNetwork(name: string): Promise<NetworkInfo>;
  joinNetwork(invite: string): Promise<NetworkInfo>;
  /** Joins the invite in a photo of its QR code (PNG or JPEG, read on the appliance). */
  joinNetworkPhoto(photo: Uint8Array): Promise<NetworkInfo>;
  approve(publicKey: string): Promise<NetworkInfo>;
  deny(publicKey: string): Promise<NetworkInfo>;
  revoke(publicKey: string): Promise<NetworkInfo>;
  /** A new network secret (an invite leaked); the old one stays accepted `graceHours` (0 to 720; at least the 20 s of the handover) for members that were away. */
  rotateSecret(graceHours: number): Promise<NetworkInfo>;

  privacy(): Promise<PrivacySettings>;
  setPrivacy(settings: PrivacySettings): Promise<PrivacySettings>;

  exitOffer(): Promise<ExitOffer>;
  setExitOffer(offer: ExitOffer): Promise<ExitOffer>;

  /** The leak self-test: public address, DNS, kill switch, as a LAN device's traffic goes. */
  leakTest(): Promise<LeakReport>;

  /** The most recent log lines, oldest first. */
  logs(limit: number): Promise<string[]>;
  /** A text report for asking for help: versions, config and status, with keys and secrets removed. */
  supportBundle(): Promise<string>;
}
