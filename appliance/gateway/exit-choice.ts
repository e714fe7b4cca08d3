// Which peer the gateway sends the LAN's internet traffic to.
//
// `gateway.exit` names one by key, or "auto": any member whose discovery record offers an exit,
// and any configured peer whose allowed IPs include 0.0.0.0/0. Auto keeps its choice while the
// exit answers (a change of exit changes the LAN's public address and breaks its connections);
// an exit that is failing (no answer to its probes: session/quality.ts, ~3 s), silent for
// STALE_MS, or that never completed a handshake within FIRST_CONTACT_MS is replaced. The
// replacement is drawn at random among the live candidates, weighted by measured round trip and
// loss (the best most often, none always); candidates never heard from get their turn after.

import { encodeKey } from '../config/schema.ts';
import type { Peer } from '../session/peer.ts';
import { weightedChoice } from '../session/quality.ts';

export const STALE_MS = 60_000;
export const FIRST_CONTACT_MS = 15_000;

export interface ExitHost {
  readonly peers: readonly Peer[];
  readonly exitPeer: Peer | null;
  setExit(peer: Peer | null): void;
}

export class ExitChooser {
  private readonly offered = new Set<string>();
  private chosenAtMs = 0;

  constructor(
    /** "auto" or the exit's public key (base64). */
    private want: string,
    private readonly host: ExitHost,
    private readonly random: () => number = Math.random,
  ) {}

  /** The owner chose another exit (or "auto"): the next tick follows. */
  setWant(want: string): void {
    if (want === this.want) return;
    this.want = want;
    this.chosenAtMs = 0;
  }

  /** What a member's record says about it (discovery calls this for every record). */
  offer(key: Uint8Array, exit: boolean): void {
    const k = encodeKey(key);
    if (exit) this.offered.add(k);
    else this.offered.delete(k);
  }

  candidates(): Peer[] {
    if (this.want !== 'auto') return this.host.peers.filter((p) => encodeKey(p.publicKey) === this.want);
    return this.host.peers.filter((p) => this.offered.has(encodeKey(p.publicKey)) || p.allowedIps.some((a) => a.family === 4 && a.bits === 0));
  }

  private usable(p: Peer, now: number): boolean {
    if (p.lastReceivedMs > 0) return now - p.lastReceivedMs < STALE_MS && !p.quality.failing(now);
    return p === this.host.exitPeer && now - this.chosenAtMs < FIRST_CONTACT_MS;
  }

  /** Called every second or so with the device's clock. */
  tick(now: number): void {
    const list = this.candidates();
    const current = this.host.exitPeer;
    if (current && list.includes(current) && this.usable(current, now)) return;
    // A live candidate, weighted by quality; one never heard from gets its turn at first contact.
    const ranked = [...list].sort((a, b) => b.lastReceivedMs - a.lastReceivedMs);
    const live = ranked.filter((p) => p !== current && p.lastReceivedMs > 0 && this.usable(p, now));
    const alive = weightedChoice(live, (p) => p.quality.cost(now), this.random) ?? undefined;
    const untried = ranked.filter((p) => p.lastReceivedMs === 0 && p !== current);
    const next = alive ?? untried[0] ?? (list.length === 1 ? list[0] : ranked.find((p) => p !== current)) ?? null;
    if (next === current) return;
    this.chosenAtMs = now;
    this.host.setExit(next ?? null);
  }
}
