// An in-memory AdminApi with deterministic sample data, for the tests, the dev preview
// (webui/dev.ts) and the admin benchmark. Its fields are public so a test can check that a change
// made through the web pages reached "the daemon". It deliberately carries hostile names
// (`<script>…`) on a device, a peer and a pending member, so escaping is visible on every page.

import {
  AdminError,
  BEST_EXIT,
  type AdminApi,
  type AdminPeer,
  type AdminStatus,
  type DeviceSettings,
  type ExitOffer,
  type InboundPort,
  type LeakReport,
  type LanDevice,
  type Member,
  type NetworkInfo,
  type PrivacySettings,
} from './api.ts';

export const HOSTILE_NAME = '<script>alert(1)</script>';

/** A fixed, valid-looking WireGuard key: 32 bytes of `seed`. */
export function sampleKey(seed: number): string {
  return Buffer.alloc(32, seed).toString('base64');
}

export interface FakeOptions {
  /** Start as an appliance that already belongs to a network (default: a fresh one). */
  withNetwork?: boolean;
  now?: () => number;
}

const SINCE = '2025-01-15T09:30:00.000Z';
/** The invite before and after the fake's secret was rotated (the second a real version-2 invite). */
const INVITE = 'warren1:aaqaaaaaa5ugs3tfnzqw2zjaonswg4tfoqqgc3tfmfzxi2lomqqgk4tjmnsxg5dvnzzq';
const ROTATED_INVITE = 'warren2:at5wq33nmueqscijbeeqscijbeeqscijbeeqscijbeeqscijbeeqscijbeeqscaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcai4oxbqny';
const MAX_GRACE_HOURS = 720;

function samplePeers(): AdminPeer[] {
  return [
    { name: 'grandma', publicKey: sampleKey(2), endpoint: '198.51.100.7:40123', rttMs: 23, lossPercent: 0, rxBytes: 812_345_678, txBytes: 98_765_432, rxBytesPerSecond: 1_250_000, txBytesPerSecond: 84_000, upSeconds: 7_260, path: 'direct', lastHandshakeSecondsAgo: 42 },
    { name: 'office', publicKey: sampleKey(3), endpoint: '203.0.113.20:51820', rttMs: 61, lossPercent: 1.5, rxBytes: 12_345_678, txBytes: 4_567_890, rxBytesPerSecond: 2_000, txBytesPerSecond: 1_500, upSeconds: 600, path: 'relay', lastHandshakeSecondsAgo: 97 },
    { name: HOSTILE_NAME, publicKey: sampleKey(4), endpoint: null, rttMs: null, lossPercent: null, rxBytes: 0, txBytes: 0, rxBytesPerSecond: 0, txBytesPerSecond: 0, upSeconds: null, path: 'direct', lastHandshakeSecondsAgo: null },
  ];
}

function sampleDevices(): LanDevice[] {
  return [
    { mac: '02:00:00:00:00:01', ip: '192.168.8.10', hostname: 'living-room-tv', policy: 'overlay', exit: BEST_EXIT },
    { mac: '02:00:00:00:00:02', ip: '192.168.8.11', hostname: 'alice-laptop', policy: 'direct', exit: BEST_EXIT },
    { mac: '02:00:00:00:00:03', ip: '192.168.8.12', hostname: HOSTILE_NAME, policy: 'block', exit: BEST_EXIT },
    { mac: '02:00:00:00:00:04', ip: '192.168.8.13', hostname: null, policy: 'overlay', exit: sampleKey(2) },
  ];
}

function sampleMembers(): Omit<NetworkInfo, 'hasNetwork' | 'name'> {
  return {
    generation: 0,
    previousUntil: null,
    pending: [
      { publicKey: sampleKey(5), name: 'new-phone', since: SINCE },
      { publicKey: sampleKey(6), name: `"><img src=x onerror=alert(2)>${HOSTILE_NAME}`, since: SINCE },
    ],
    approved: [
      { publicKey: sampleKey(2), name: 'grandma', since: SINCE },
      { publicKey: sampleKey(3), name: 'office', since: SINCE },
    ],
    revoked: [{ publicKey: sampleKey(7), name: 'old-tablet', since: SINCE }],
  };
}

export class FakeAdminApi implements AdminApi {
  readonly publicKey = sampleKey(1);
  peerList: AdminPeer[] = samplePeers();
  deviceList: LanDevice[] = sampleDevices();
  net: NetworkInfo;
  privacySettings: PrivacySettings = { hops: 1, exit: BEST_EXIT, killSwitch: 'on', dns: 'on', padding: 'bucket' };
  offer: ExitOffer = { enabled: false, acceptRisk: false };
  logLines: string[] = [];
  /** How many times status() was asked (the throughput counters move on each call). */
  ticks = 0;
  private rx = 1_000_000_000;
  private tx = 200_000_000;
  private readonly now: () => number;
  private readonly startedAt: number;

  constructor(opts: FakeOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now() - 3 * 3600_000 - 17 * 60_000;
    this.net = opts.withNetwork ? { hasNetwork: true, name: 'home', ...sampleMembers() } : { hasNetwork: false, name: null, pending: [], approved: [], revoked: [], generation: 0, previousUntil: null };
    for (let i = 0; i < 40; i++) this.logLines.push(`2025-01-15T09:${String(i).padStart(2, '0')}:00Z warren: sample log line ${i}`);
    this.logLines.push(`2025-01-15T09:41:00Z warren: peer ${HOSTILE_NAME} handshake timed out`);
  }

  private log(line: string): void {
    this.logLines.push(`${new Date(this.now()).toISOString()} warren: ${line}`);
    if (this.logLines.length > 500) this.logLines.splice(0, this.logLines.length - 500);
  }

  async status(): Promise<AdminStatus> {
    // A deterministic wave, so the graph has a shape: ~0.5–3.5 MB per call downstream.
    this.ticks++;
    this.rx += Math.round(2_000_000 + 1_500_000 * Math.sin(this.ticks / 4));
    this.tx += Math.round(400_000 + 300_000 * Math.cos(this.ticks / 5));
    const online = this.peerList.filter((p) => p.lastHandshakeSecondsAgo !== null && p.lastHandshakeSecondsAgo < 180).length;
    const exitPeer = this.peerList[0];
    return {
      interfaceName: 'warren0',
      publicKey: this.publicKey,
      uptimeSeconds: Math.floor((this.now() - this.startedAt) / 1000),
      rxBytes: this.rx,
      txBytes: this.tx,
      peersOnline: online,
      peersTotal: this.peerList.length,
      exit: this.net.hasNetwork && exitPeer ? { name: exitPeer.name, publicKey: exitPeer.publicKey, latencyMs: exitPeer.rttMs } : null,
      health: { tunnel: this.net.hasNetwork, dns: this.privacySettings.dns === 'on', killSwitch: true },
    };
  }

  async peers(): Promise<AdminPeer[]> {
    return this.peerList.map((p) => ({ ...p }));
  }

  async devices(): Promise<LanDevice[]> {
    return this.deviceList.map((d) => ({ ...d }));
  }

  /** What the fake's leak test finds: all good once there is a network. */
  async leakTest(): Promise<LeakReport> {
    if (!this.net.hasNetwork) return { ok: false, checks: [{ name: 'Tunnel', ok: false, detail: 'The tunnel is not running yet: create or join a network first.' }] };
    const exit = this.peerList[0];
    return {
      ok: true,
      checks: [
        { name: 'Public address', ok: true, detail: `The internet sees 203.0.113.20: the address of your exit, ${exit?.name ?? 'exit'}.` },
        { name: 'DNS', ok: true, detail: 'Asked of 9.9.9.9 through the tunnel.' },
        { name: 'Kill switch', ok: true, detail: 'In the kernel.' },
      ],
    };
  }

  /** A made-up torrent client's port through the exit (the fake has no NAT-PMP). */
  async ports(): Promise<{ devices: InboundPort[]; asExit: InboundPort[] }> {
    const d = this.deviceList.find((x) => x.policy === 'overlay');
    return { devices: d ? [{ proto: 'tcp', external: '203.0.113.20:51413', to: `${d.ip}:51413`, expiresInSeconds: 3600 }] : [], asExit: [] };
  }

  async setDevicePolicy(mac: string, settings: DeviceSettings): Promise<LanDevice> {
    const device = this.deviceList.find((d) => d.mac === mac.toLowerCase());
    if (!device) throw new AdminError('not-found', `No device with address ${mac} is on the LAN any more; reload the page.`);
    if (settings.exit !== BEST_EXIT && !this.peerList.some((p) => p.publicKey === settings.exit)) {
      throw new AdminError('invalid', 'That exit is not one of your peers; choose another or "best".');
    }
    device.policy = settings.policy;
    device.exit = settings.exit;
    if (settings.hops) device.hops = settings.hops;
    else delete device.hops;
    this.log(`device ${mac} policy ${settings.policy} exit ${settings.exit}`);
    return { ...device };
  }

  async network(): Promise<NetworkInfo> {
    return structuredClone(this.net);
  }

  async invite(): Promise<string> {
    if (!this.net.hasNetwork) throw new AdminError('conflict', 'This appliance has no network yet; create one or join one first.');
    return this.net.generation > 0 ? ROTATED_INVITE : INVITE;
  }

  private requireNoNetwork(): void {
    if (this.net.hasNetwork) throw new AdminError('conflict', `This appliance already belongs to "${this.net.name ?? ''}".`);
  }

  async createNetwork(name: string): Promise<NetworkInfo> {
    this.requireNoNetwork();
    const bytes = Buffer.byteLength(name.trim());
    if (bytes < 1 || bytes > 32) throw new AdminError('invalid', 'A network name has 1 to 32 bytes of text; choose a shorter one.');
    this.net = { hasNetwork: true, name: name.trim(), ...sampleMembers() };
    this.log(`created network ${name.trim()}`);
    return this.network();
  }

  async joinNetwork(invite: string): Promise<NetworkInfo> {
    this.requireNoNetwork();
    const text = invite.replace(/\s+/g, '').toLowerCase();
    if (!/^warren1:[a-z2-7]{20,}$/.test(text)) {
      throw new AdminError('invalid', 'That is not a Warren invite (it starts with "warren1:"); copy the whole text again.');
    }
    this.net = { hasNetwork: true, name: 'family', ...sampleMembers() };
    this.log('joined network family');
    return this.network();
  }

  /** PNG only here (the daemon's API reads JPEG too: appliance/network/invite-image.ts). */
  async joinNetworkPhoto(photo: Uint8Array): Promise<NetworkInfo> {
    const { PNG } = await import('pngjs');
    const { default: jsQR } = await import('jsqr');
    let text: string | null = null;
    try {
      const png = PNG.sync.read(Buffer.from(photo));
      text = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
    } catch {
      throw new AdminError('invalid', 'The picture could not be read; take it again.');
    }
    if (text === null) throw new AdminError('invalid', 'No QR code was found in the picture.');
    return this.joinNetwork(text);
  }

  private move(publicKey: string, from: 'pending' | 'approved', to: 'approved' | 'revoked' | null): NetworkInfo {
    const list = this.net[from];
    const i = list.findIndex((m) => m.publicKey === publicKey);
    const member: Member | undefined = list[i];
    if (!member) throw new AdminError('not-found', `No ${from} member has that key; reload the page.`);
    list.splice(i, 1);
    if (to) this.net[to].push({ ...member, since: new Date(this.now()).toISOString() });
    this.log(`member ${publicKey} ${from} → ${to ?? 'denied'}`);
    return structuredClone(this.net);
  }

  async approve(publicKey: string): Promise<NetworkInfo> {
    return this.move(publicKey, 'pending', 'approved');
  }

  async deny(publicKey: string): Promise<NetworkInfo> {
    return this.move(publicKey, 'pending', null);
  }

  async revoke(publicKey: string): Promise<NetworkInfo> {
    return this.move(publicKey, 'approved', 'revoked');
  }

  async rotateSecret(graceHours: number): Promise<NetworkInfo> {
    if (!Number.isFinite(graceHours) || graceHours < 0 || graceHours > MAX_GRACE_HOURS) {
      throw new AdminError('invalid', `The old secret can stay accepted for 0 to ${MAX_GRACE_HOURS} hours (30 days), not ${graceHours}; choose one of the times offered.`);
    }
    if (!this.net.hasNetwork) throw new AdminError('conflict', 'This appliance has no network yet; create one or join one first.');
    this.net.generation++;
    this.net.previousUntil = graceHours > 0 ? new Date(this.now() + graceHours * 3600_000).toISOString() : null;
    this.log(`rotated the network secret (generation ${this.net.generation})`);
    return this.network();
  }

  async privacy(): Promise<PrivacySettings> {
    return { ...this.privacySettings };
  }

  async setPrivacy(settings: PrivacySettings): Promise<PrivacySettings> {
    this.privacySettings = { ...settings };
    this.log(`privacy ${JSON.stringify(settings)}`);
    return this.privacy();
  }

  async exitOffer(): Promise<ExitOffer> {
    return { ...this.offer };
  }

  async setExitOffer(offer: ExitOffer): Promise<ExitOffer> {
    if (offer.enabled && !offer.acceptRisk) throw new AdminError('invalid', 'Offering an exit needs the risk box ticked: other members’ traffic would leave from your address.');
    this.offer = { ...offer };
    this.log(`exit offer ${offer.enabled ? 'on' : 'off'}`);
    return this.exitOffer();
  }

  async logs(limit: number): Promise<string[]> {
    return this.logLines.slice(-limit);
  }

  async supportBundle(): Promise<string> {
    const s = await this.status();
    return [
      'Warren support bundle (fake API)',
      `interface: ${s.interfaceName}`,
      `network: ${this.net.name ?? '(none)'}`,
      `peers: ${this.peerList.length}`,
      'private key: (removed)',
      'network secret: (removed)',
      '',
      ...(await this.logs(100)),
      '',
    ].join('\n');
  }
}
