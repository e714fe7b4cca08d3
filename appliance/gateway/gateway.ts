// The appliance as the LAN's router and as an exit, on Linux: the lifecycle of Warren's
// firewall table (nft.ts), policy routing (policy-routing.ts) and dnsmasq.
//
//   prepare   before the TUN exists: the firewall with its kill switch, then the rules, so an
//             overlay device's packet has nowhere to go but Warren from the first moment;
//   tunUp     once the TUN is up: Warren's table routes to it; dnsmasq starts on the LAN;
//   stop      the daemon is stopping: dnsmasq stops, the firewall and rules stay — a restart
//             or a crash never opens a gap (the kill switch holds while Warren is down);
//   teardown  `warren down`: everything goes, except the kill switch when kill_switch = "always".

import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Config } from '../config/schema.ts';
import { alwaysDenied } from '../config/gateway.ts';
import { formatPrefix, parsePrefix, type Prefix } from '../dataplane/packet/addr.ts';
import type { Runner } from '../system/runner.ts';
import { applyRuleset, circuitMark, removeRuleset, type Ruleset } from '../system/nft.ts';
import { applyCircuitRoutes, applyRules, applyTunRoutes, removeRouting, type PolicyRouting } from '../system/policy-routing.ts';
import { Dnsmasq } from '../system/dnsmasq.ts';
import { applyShaping, removeShaping } from '../system/shaping.ts';
import type { ForwardElement } from './port-forwards.ts';
import { circuitTunName, isWarrenInterface } from '../system/link.ts';

/** Private ranges (RFC 1918, RFC 4193): an exit's members never reach someone's home network through it. */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

export interface GatewayDeps {
  run: Runner;
  log: (line: string) => void;
  /** Warren's run directory (dnsmasq's files). */
  runDir: string;
  /** The system's interfaces (default os.networkInterfaces), for the exit's own subnets. */
  interfaces?: () => ReturnType<typeof networkInterfaces>;
}

function routing(config: Config): PolicyRouting | null {
  const g = config.gateway;
  if (!g) return null;
  const self = config.interface.addresses.filter((p) => p.family === 4).map((p) => formatPrefix(p).replace(/\/\d+$/, ''));
  return { table: g.table, mark: g.mark, resolvers: g.dns.enabled ? g.dns.upstream : [], self, circuitMarks: circuitsWanted(config) ? [circuitMark(g.mark, 2), circuitMark(g.mark, 3)] : [] };
}

/** Every subnet this machine is on, except the TUN's (its LAN, its WAN link, anything else). */
export function ownSubnets(tun: string, interfaces: ReturnType<typeof networkInterfaces>): Prefix[] {
  const out: Prefix[] = [];
  for (const [name, addrs] of Object.entries(interfaces)) {
    if (isWarrenInterface(name, tun)) continue;
    for (const a of addrs ?? []) {
      const p = a.cidr ? parsePrefix(a.cidr.replace(/%.*\//, '/')) : null;
      if (p) out.push(p);
    }
  }
  return out;
}

export { circuitTunName } from '../system/link.ts';

/** Whether this appliance needs the circuit TUN: it sends devices through circuits, or ends circuits as an exit. */
export function circuitsWanted(config: Config): boolean {
  const g = config.gateway;
  const viaCircuits = g !== null && (g.circuitPath.length > 0 || g.hops > 1 || g.devices.some((d) => (d.hops ?? 1) > 1));
  return viaCircuits || config.exit !== null;
}

export function rulesetFor(config: Config, interfaces: ReturnType<typeof networkInterfaces>, killSwitchOnly = false, forwards: Ruleset['forwards'] = undefined): Ruleset {
  const tun = config.interface.name;
  const g = config.gateway;
  const e = config.exit;
  return {
    gateway: g
      ? { tun, self: config.interface.addresses, lan: g.lan, wan: g.wan, mark: g.mark, defaultPolicy: g.defaultPolicy, devices: g.devices, redirectDns: g.dns.enabled, circuitTun: circuitsWanted(config) ? circuitTunName(tun) : undefined, hops: g.hops }
      : null,
    exit: e
      ? {
          tun,
          wan: e.wan,
          self: config.interface.addresses,
          deny: [...alwaysDenied(), ...PRIVATE_RANGES.map((r) => parsePrefix(r)!), ...ownSubnets(tun, interfaces), ...e.deny],
          blockSmtp: e.blockSmtp,
          rateMbit: e.rateMbit,
          circuitTun: circuitTunName(tun),
          shaped: e.wanMbit > 0,
          memberRateMbit: e.memberRateMbit,
          memberConnections: e.memberConnections,
        }
      : null,
    sites: config.interface.advertise.length > 0 ? { tun, networks: config.interface.advertise } : undefined,
    killSwitchOnly,
    forwards,
  };
}

/** Connections an exit should be able to track (a few homes with torrent clients). */
export const EXIT_CONNTRACK_MIN = 65_536;

/** The kernel's connection-tracking limit, or null where it cannot be read. */
export function conntrackMax(): number | null {
  try {
    const n = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

export class GatewayController {
  private dns: Dnsmasq | null = null;
  private forwards: { exit: readonly ForwardElement[]; home: readonly ForwardElement[] } = { exit: [], home: [] };

  constructor(
    private config: Config,
    private readonly deps: GatewayDeps,
  ) {}

  /** New settings (device policies, kill switch, exit offer): the firewall and rules are replaced at once. */
  update(config: Config): void {
    const wasActive = this.active;
    if (this.config.exit && !config.exit) removeShaping(this.deps.run, this.config.exit.wan);
    this.config = config;
    if (this.active) this.prepare();
    else if (wasActive) removeRuleset(this.deps.run);
  }

  get active(): boolean {
    return this.config.gateway !== null || this.config.exit !== null || this.config.interface.advertise.length > 0;
  }

  get dnsRunning(): boolean {
    return this.dns?.running ?? false;
  }

  prepare(): void {
    if (!this.active) return;
    this.applyFirewall();
    const r = routing(this.config);
    if (r) applyRules(this.deps.run, r);
    else this.deps.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    if (this.config.interface.advertise.length > 0) this.deps.log(`site: sharing ${this.config.interface.advertise.map(formatPrefix).join(' ')} with the members`);
    if (this.config.exit) this.deps.log('exit: this appliance is an exit — members\' traffic leaves from its WAN address (exit.accept_risk = true)');
    if (this.config.exit) {
      const max = conntrackMax();
      if (max !== null && max < EXIT_CONNTRACK_MIN) {
        this.deps.log(`exit: the kernel tracks at most ${max} connections (net.netfilter.nf_conntrack_max); an exit for several homes wants ${EXIT_CONNTRACK_MIN} or more (about 300 bytes each) — raise it in /etc/sysctl.d`);
      }
      applyShaping(this.deps.run, this.config.exit.wan, this.config.exit.wanMbit);
      if (this.config.exit.wanMbit > 0) this.deps.log(`exit: ${this.config.exit.wan} shaped to ${this.config.exit.wanMbit} Mbit/s, this home's own traffic first`);
    }
  }

  private applyFirewall(): void {
    applyRuleset(this.deps.run, rulesetFor(this.config, (this.deps.interfaces ?? networkInterfaces)(), false, this.forwards));
  }

  /**
   * Inbound ports opened or closed (gateway/port-forwards.ts): the firewall is replaced in one
   * transaction with the new maps (established connections are conntrack's and carry on).
   */
  setForwards(exit: readonly ForwardElement[], home: readonly ForwardElement[]): void {
    this.forwards = { exit, home };
    if (this.active) this.applyFirewall();
  }

  /** Once the circuit TUN is up: devices of 2–3 hops route into it; an exit routes circuit addresses to it. */
  circuitTunUp(circuitTun: string, exitPool: string | null): void {
    const r = routing(this.config);
    if (r && this.config.gateway) applyCircuitRoutes(this.deps.run, r, circuitTun);
    if (exitPool) {
      this.deps.run(['ip', '-4', 'route', 'replace', exitPool, 'dev', circuitTun]);
      this.deps.run(['sysctl', '-qw', `net.ipv4.conf.${circuitTun}.rp_filter=2`]);
    }
  }

  tunUp(tun: string): void {
    const r = routing(this.config);
    const g = this.config.gateway;
    if (!r || !g) return;
    applyTunRoutes(this.deps.run, r, tun);
    if (g.dns.enabled) {
      this.dns = new Dnsmasq({ lan: g.lan, upstream: g.dns.upstream, dhcpRange: g.dhcpRange, runDir: this.deps.runDir, log: this.deps.log });
      this.dns.start();
    }
  }

  async stop(): Promise<void> {
    await this.dns?.stop();
  }
}

/** `warren down`: removes Warren's rules, routes and table; keeps only the kill switch when asked. */
export function teardown(config: Config, run: Runner, interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): { keptKillSwitch: boolean } {
  const r = routing(config);
  if (r) removeRouting(run, r);
  if (config.exit) removeShaping(run, config.exit.wan);
  const keep = config.gateway?.killSwitch === 'always';
  if (keep) applyRuleset(run, rulesetFor({ ...config, exit: null }, interfaces, true));
  else removeRuleset(run);
  return { keptKillSwitch: keep };
}
