/**
 * Where a tunnelled ping's time goes. Two Warren nodes (or two wireguard-go) between lab
 * namespaces; pings at 50 ms intervals (N, default 100) and prints the RTT's median, p10 and p90.
 * Unless NOCAP=1, tcpdump runs on every interface of both namespaces and the script prints each
 * stage's median: TUN → wire (the sender's outbound path) and wire → TUN (the receiver's inbound
 * path), per node. tcpdump adds its own wake-ups, so compare stages, not totals, with captures on.
 *
 * Knobs: WARM=n floods n tunnelled pings first (a warm data plane), WARMRAW=n floods the underlay
 * instead (a warm kernel), IDLE=s waits s seconds before measuring, WARREN_WARMUP=0 starts the
 * daemons without their start-up warm-up (appliance/warmup.ts).
 *
 * Run as root: node_modules/.bin/bun scripts/bench/rtt-trace.ts [warren|wg]
 */
import { readFileSync } from 'node:fs';
import { Lab, type LabProcess } from '../../test/netns/lib/netns.ts';
import { startWarren } from '../../test/netns/lib/warren.ts';
import { genKeyPair, startWireguardGo } from '../../test/netns/lib/wireguard-go.ts';

const which = process.argv[2] ?? 'warren';
if (which !== 'warren' && which !== 'wg') throw new Error('usage: rtt-trace.ts [warren|wg]');
const pings = Number(process.env.N ?? 100);

interface Event {
  t: number;
  out: boolean;
  udp: boolean;
}

/** tcpdump -tt lines → (time, direction, underlay UDP or tunnelled packet); IPv6 noise skipped. */
function events(log: string): Event[] {
  const list: Event[] = [];
  for (const line of log.split('\n')) {
    const f = line.split(/\s+/);
    if (f.length < 4 || !/^\d/.test(f[0] ?? '') || line.includes(' IP6 ')) continue;
    list.push({ t: Number(f[0]), out: f[2] === 'Out', udp: line.includes(': UDP') });
  }
  return list;
}

/** For each tunnelled packet out (inner → TUN), the time to its datagram on the wire; and back. */
function stages(list: Event[]): { outbound: number[]; inbound: number[] } {
  const outbound: number[] = [];
  const inbound: number[] = [];
  list.forEach((e, i) => {
    const next = list.slice(i + 1, i + 6);
    if (!e.udp && e.out) {
      const d = next.find((n) => n.udp && n.out);
      if (d) outbound.push(d.t - e.t);
    }
    if (e.udp && !e.out) {
      const d = next.find((n) => !n.udp && !n.out);
      if (d) inbound.push(d.t - e.t);
    }
  });
  return { outbound, inbound };
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN;
}

const us = (v: number[]): string => `median ${(quantile(v, 0.5) * 1e6).toFixed(0)} µs, p90 ${(quantile(v, 0.9) * 1e6).toFixed(0)} µs (n=${v.length})`;

const lab = await Lab.create('rtt');
try {
  const a = await lab.ns('a');
  const b = await lab.ns('b');
  await lab.veth(a, b, { a: '192.168.77.1/24', b: '192.168.77.2/24' });
  const [ka, kb] = [await genKeyPair(), await genKeyPair()];
  const nodes: { stop(): Promise<unknown> }[] = [];
  if (which === 'wg') {
    const common = { mtu: 1440, logLevel: 'error' as const };
    nodes.push(await startWireguardGo(lab, b, { ...common, privateKey: kb.privateKey, listenPort: 51821, addresses: ['10.99.1.2/24'], peers: [{ publicKey: ka.publicKey, allowedIps: ['10.99.1.1/32'] }] }));
    nodes.push(await startWireguardGo(lab, a, { ...common, privateKey: ka.privateKey, listenPort: 51820, addresses: ['10.99.1.1/24'], peers: [{ publicKey: kb.publicKey, endpoint: '192.168.77.2:51821', allowedIps: ['10.99.1.2/32'] }] }));
  } else {
    const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
    const common = { wire: 'native', networkSecret: secret, mtu: 1440 };
    nodes.push(await startWarren(lab, b, { ...common, name: 'b', privateKey: kb.privateKey, listenPort: 51821, addresses: ['10.99.1.2/24'], peers: [{ name: 'a', publicKey: ka.publicKey, allowedIps: ['10.99.1.1/32'] }] }));
    nodes.push(await startWarren(lab, a, { ...common, name: 'a', privateKey: ka.privateKey, listenPort: 51820, addresses: ['10.99.1.1/24'], peers: [{ name: 'b', publicKey: kb.publicKey, endpoint: '192.168.77.2:51821', allowedIps: ['10.99.1.2/32'] }] }));
  }
  await lab.exec(a, ['ping', '-c', '1', '-w', '15', '10.99.1.2'], { timeoutMs: 20_000 });
  if (process.env.WARM) await lab.exec(a, ['ping', '-q', '-f', '-c', process.env.WARM, '10.99.1.2'], { check: false });
  if (process.env.WARMRAW) await lab.exec(a, ['ping', '-q', '-f', '-c', process.env.WARMRAW, '192.168.77.2'], { check: false });
  if (process.env.IDLE) await Bun.sleep(Number(process.env.IDLE) * 1000);
  const caps: [string, LabProcess][] = process.env.NOCAP === '1' ? [] : [['a', a], ['b', b]].map(([side, ns]) =>
    [side!, lab.spawn(ns!, ['tcpdump', '-i', 'any', '-n', '-tt', '--immediate-mode', '-l', '-Q', 'inout'], { log: `tcpdump-${side}` })]);
  if (caps.length) await Bun.sleep(1500);
  const r = await lab.exec(a, ['ping', '-c', String(pings), '-i', '0.05', '10.99.1.2'], { check: false, timeoutMs: pings * 200 + 20_000 });
  const times = [...r.stdout.matchAll(/time=([\d.]+)/g)].map((m) => Number(m[1]) / 1000);
  console.log(`${which}: RTT ${us(times).replace(/µs/g, 'µs')}`);
  await Bun.sleep(500);
  for (const [side, proc] of caps) {
    await lab.kill(proc);
    const s = stages(events(readFileSync(proc.logPath, 'utf8')));
    console.log(`${which} ${side}: TUN → wire ${us(s.outbound)}; wire → TUN ${us(s.inbound)}`);
  }
  for (const n of nodes) await n.stop().catch(() => 0);
} finally {
  await lab.cleanup();
}
