// The LAN's DNS (and optionally DHCP) through dnsmasq, started and configured by Warren.
// dnsmasq answers on the LAN interface and asks only the configured resolvers; policy routing
// (policy-routing.ts) sends those queries through the overlay, and the firewall (nft.ts) drops
// any that would leave by the WAN. If dnsmasq exits, it is started again with a backoff.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DnsmasqOptions {
  lan: string;
  upstream: readonly string[];
  /** "first,last[,lease]", or null for DNS only. */
  dhcpRange: string | null;
  /** Where the config, pid and lease files live (Warren's run directory). */
  runDir: string;
  binary?: string;
  log: (line: string) => void;
}

/** The config file text: DNS on the LAN interface only, no /etc/resolv.conf, no /etc/hosts. */
export function dnsmasqConfig(o: DnsmasqOptions): string {
  const lines = [
    '# Written by Warren; changes are overwritten at start.',
    `interface=${o.lan}`,
    'bind-dynamic', // binds the LAN addresses, also ones that appear after start
    'except-interface=lo',
    'no-resolv',
    'no-hosts',
    'no-poll',
    'cache-size=1000',
    'domain-needed',
    'bogus-priv',
    ...o.upstream.map((u) => `server=${u}`),
    `pid-file=${join(o.runDir, 'dnsmasq.pid')}`,
  ];
  if (o.dhcpRange) lines.push(`dhcp-range=${o.dhcpRange}`, `dhcp-leasefile=${join(o.runDir, 'dnsmasq.leases')}`, 'dhcp-authoritative');
  return `${lines.join('\n')}\n`;
}

export class Dnsmasq {
  private proc: ReturnType<typeof Bun.spawn> | null = null;
  private stopped = false;
  private restarts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  readonly configPath: string;

  constructor(private readonly o: DnsmasqOptions) {
    this.configPath = join(o.runDir, 'dnsmasq.conf');
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null;
  }

  start(): void {
    mkdirSync(this.o.runDir, { recursive: true, mode: 0o700 });
    writeFileSync(this.configPath, dnsmasqConfig(this.o), { mode: 0o600 });
    this.spawn();
  }

  private spawn(): void {
    if (this.stopped) return;
    const argv = [this.o.binary ?? 'dnsmasq', '--keep-in-foreground', `--conf-file=${this.configPath}`];
    let proc: ReturnType<typeof Bun.spawn>;
    try {
      proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
    } catch (e) {
      this.o.log(`dns: cannot start dnsmasq (${(e as Error).message}); install it (Debian: dnsmasq-base)`);
      return;
    }
    this.proc = proc;
    void proc.exited.then(async (code) => {
      if (this.stopped || this.proc !== proc) return;
      const err = proc.stderr instanceof ReadableStream ? (await new Response(proc.stderr).text()).trim().split('\n').slice(-2).join(' | ') : '';
      this.restarts++;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(6, this.restarts));
      this.o.log(`dns: dnsmasq exited ${code}${err ? ` (${err})` : ''}; starting it again in ${delay} ms`);
      this.timer = setTimeout(() => this.spawn(), delay);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    p.kill('SIGTERM');
    const done = await Promise.race([p.exited.then(() => true), Bun.sleep(3_000).then(() => false)]);
    if (!done) p.kill('SIGKILL');
  }
}
