// TUN read/write throughput of each variant in one run. Run through scripts/bench/tun-io.sh,
// which makes a private network namespace; this file expects to already be inside one.
//
// Drain: the TUN queue is filled first, then drained by the reader alone (its capacity).
// Reads: a child process floods 10.200.0.2 (routed to the TUN) with 1,400-byte UDP datagrams
// (1,428-byte IP packets) for SECONDS; we count packets delivered to onBatch and check every
// length. Writes: we write 1,428-byte IPv4/UDP packets to 10.200.0.1:9999 for SECONDS, where a
// bound socket that never reads lets the kernel deliver (and then drop at the full buffer); UDP
// InDatagrams + RcvbufErrors from /proc/net/snmp confirm the kernel accepted them.
// µs CPU/pkt is this process's CPU time (all threads) per packet: with the sender on the same two
// cores, packets/s partly measures the sender, CPU per packet measures us.
// Ratios are against the first variant of each group (the simplest one), per STYLE.md rule 9.

import { openTun } from '../../ffi/tun.ts';
import { TunReader } from '../../ffi/tun-reader.ts';
import { readBatch } from '../../ffi/tun-batch.ts';
import { BatchWriter, writePacked } from './tun-io-write-batch.ts';
import { ipv4Udp } from '../../test/netns/tun-packet.ts';

const SECONDS = Number(process.env.TUN_BENCH_SECONDS ?? 2);
const PAYLOAD = 1400;
const IP_LEN = PAYLOAD + 28;
const NAME = 'wbench0';

function sh(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr.toString()}`);
}

interface Row { group: string; variant: string; packets: number; seconds: number; cpuUs: number; note: string }
const rows: Row[] = [];

function senderProcess(max = 1e12): Bun.Subprocess<'ignore', 'pipe', 'inherit'> {
  return Bun.spawn([process.execPath, new URL('./tun-io-sender.ts', import.meta.url).pathname, '10.200.0.2', '9', String(PAYLOAD), String(SECONDS * 1000), String(max)], {
    stdin: 'ignore', stdout: 'pipe', stderr: 'inherit',
  });
}

async function benchReader(fd: number, mode: 'cc' | 'ffi'): Promise<void> {
  const reader = new TunReader(fd, { mode });
  let bad = 0;
  reader.start((packets, count) => {
    for (let i = 0; i < count; i++) if (packets[i]!.byteLength !== IP_LEN) bad++;
  });
  await Bun.sleep(200); // let the Worker compile and settle
  const before = reader.stats.packets;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sender = senderProcess();
  const sent = Number(await new Response(sender.stdout).text());
  const seconds = (performance.now() - t0) / 1000;
  await Bun.sleep(50);
  const packets = reader.stats.packets - before;
  const cpu = process.cpuUsage(cpu0);
  const { batches, ringFull } = reader.stats;
  await reader.stop();
  rows.push({
    group: 'read', variant: mode === 'cc' ? 'Worker + cc batch read (64) → SAB ring' : 'Worker + FFI read per packet → SAB ring',
    packets, seconds, cpuUs: cpu.user + cpu.system,
    note: `sent ${sent}, ${(reader.stats.packets / Math.max(batches, 1)).toFixed(1)} pkts/batch, ringFull ${ringFull}, bad lengths ${bad}`,
  });
}

/** Reader capacity alone: fill the TUN queue (txqueuelen QUEUE) while nothing reads, then time
 * the drain from the first delivered batch to the last packet; median of ROUNDS. */
const QUEUE = 32_768;
const FILL = 30_000;
const ROUNDS = 5;

async function prefill(): Promise<number> {
  const sender = senderProcess(FILL);
  return Number(await new Response(sender.stdout).text());
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function benchDrain(fd: number, mode: 'cc' | 'ffi'): Promise<void> {
  const rates: number[] = [];
  let cpuPerPacket = 0;
  let bad = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await prefill();
    const reader = new TunReader(fd, { mode });
    let first = 0, last = 0, got = 0, cpu0 = process.cpuUsage();
    const done = Promise.withResolvers<void>();
    reader.start((packets, count) => {
      if (got === 0) {
        first = performance.now();
        cpu0 = process.cpuUsage();
      }
      for (let i = 0; i < count; i++) if (packets[i]!.byteLength !== IP_LEN) bad++;
      got += count;
      if (got >= FILL) {
        last = performance.now();
        done.resolve();
      }
    });
    await Promise.race([done.promise, Bun.sleep(5000)]);
    const cpu = process.cpuUsage(cpu0);
    await reader.stop();
    if (last > 0) {
      rates.push(got / ((last - first) / 1000));
      cpuPerPacket = (cpu.user + cpu.system) / got;
    }
  }
  const pps = median(rates);
  rows.push({
    group: 'drain', variant: mode === 'cc' ? 'Worker + cc batch read (64) → SAB ring' : 'Worker + FFI read per packet → SAB ring',
    packets: pps, seconds: 1, cpuUs: cpuPerPacket * pps,
    note: `median of ${rates.length} drains of ${FILL}: ${rates.map((r) => (r / 1000).toFixed(0)).join('/')} k, bad lengths ${bad}`,
  });
}

async function benchDrainMainThread(fd: number, timeoutMs: number): Promise<void> {
  const slots = 64, slotSize = 2048;
  const data = new Uint8Array(slots * slotSize);
  const lens = new Int32Array(slots);
  const rates: number[] = [];
  let bad = 0, errors = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await prefill();
    let got = 0;
    const t0 = performance.now();
    while (got < FILL && performance.now() - t0 < 5000) {
      const n = readBatch(fd, timeoutMs, data, lens, slots, slotSize, 0, slots);
      if (n < 0) errors++;
      for (let i = 0; i < n; i++) if (lens[i] !== IP_LEN) bad++;
      if (n > 0) got += n;
    }
    rates.push(got / ((performance.now() - t0) / 1000));
  }
  const pps = median(rates);
  rows.push({
    group: 'drain', variant: `main thread cc batch read, poll timeout ${timeoutMs}`,
    packets: pps, seconds: 1, cpuUs: NaN,
    note: `${rates.map((r) => (r / 1000).toFixed(0)).join('/')} k, bad lengths ${bad}, errors ${errors}`,
  });
}

/** FACTS.md oddity: a cc batch reader on the main thread with poll timeout 0. Busy-loops the main
 * thread for the run; only here to check lengths. */
async function benchMainThreadCc(fd: number, timeoutMs: number): Promise<void> {
  const slots = 64, slotSize = 2048;
  const data = new Uint8Array(slots * slotSize);
  const lens = new Int32Array(slots);
  while (readBatch(fd, 0, data, lens, slots, slotSize, 0, slots) > 0); // drain leftovers
  let packets = 0, bad = 0, errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sender = senderProcess();
  const done = new Response(sender.stdout).text();
  const end = t0 + SECONDS * 1000;
  while (performance.now() < end) {
    const n = readBatch(fd, timeoutMs, data, lens, slots, slotSize, 0, slots);
    if (n < 0) errors++;
    for (let i = 0; i < n; i++) if (lens[i] !== IP_LEN) bad++;
    if (n > 0) packets += n;
  }
  const cpu = process.cpuUsage(cpu0);
  const sent = Number(await done);
  rows.push({
    group: 'read', variant: `main thread cc batch read, poll timeout ${timeoutMs} (blocks event loop)`,
    packets, seconds: (performance.now() - t0) / 1000, cpuUs: cpu.user + cpu.system, note: `sent ${sent}, bad lengths ${bad}, errors ${errors}`,
  });
}

function udpCounters(): { inDatagrams: number; rcvbufErrors: number } {
  const lines = require('node:fs').readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l: string) => l.startsWith('Udp:'));
  const keys = lines[0].split(/\s+/);
  const vals = lines[1].split(/\s+/).map(Number);
  return { inDatagrams: vals[keys.indexOf('InDatagrams')], rcvbufErrors: vals[keys.indexOf('RcvbufErrors')] };
}

function benchWrite(variant: string, writeBatch: (batch: Uint8Array[]) => number): void {
  const packet = ipv4Udp('10.200.0.2', '10.200.0.1', 40000, 9999, new Uint8Array(PAYLOAD).fill(7));
  // 64 distinct buffers, as a data plane would have after decryption.
  const batch = Array.from({ length: 64 }, () => packet.slice());
  const before = udpCounters();
  let packets = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  while (performance.now() < end) packets += writeBatch(batch);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = udpCounters();
  const reached = after.inDatagrams - before.inDatagrams + after.rcvbufErrors - before.rcvbufErrors;
  rows.push({ group: 'write', variant, packets, seconds, cpuUs: cpu.user + cpu.system, note: `kernel UDP saw ${reached} (${((100 * reached) / packets).toFixed(1)} %)` });
}

async function main(): Promise<void> {
  const tun = openTun(NAME);
  sh(['ip', 'link', 'set', 'lo', 'up']);
  sh(['ip', 'addr', 'add', '10.200.0.1/24', 'dev', NAME]);
  // No IPv6 on the bench link: its router solicitations would be read as stray packets.
  await Bun.write(`/proc/sys/net/ipv6/conf/${NAME}/disable_ipv6`, '1');
  sh(['ip', 'link', 'set', NAME, 'up']);

  sh(['ip', 'link', 'set', NAME, 'txqueuelen', String(QUEUE)]);
  await benchDrain(tun.fd, 'ffi');
  await benchDrain(tun.fd, 'cc');
  await benchDrainMainThread(tun.fd, 0);
  await benchDrainMainThread(tun.fd, 5);
  sh(['ip', 'link', 'set', NAME, 'txqueuelen', '500']);

  await benchReader(tun.fd, 'ffi');
  await benchReader(tun.fd, 'cc');
  await benchMainThreadCc(tun.fd, 0);
  await benchMainThreadCc(tun.fd, 5);

  const sink = Bun.spawn(['python3', '-c', 'import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("10.200.0.1",9999))\ntime.sleep(3600)'], { stdin: 'ignore' });
  await Bun.sleep(300);
  try {
    benchWrite('FFI write per packet', (batch) => {
      let n = 0;
      for (const p of batch) if (tun.write(p)) n++;
      return n;
    });
    const writer = new BatchWriter(64);
    benchWrite('cc batch write (64, pointer table)', (batch) => Math.max(0, writer.write(tun.fd, batch, batch.length)));
    const packed = new Uint8Array(64 * IP_LEN);
    const lens = new Int32Array(64).fill(IP_LEN);
    benchWrite('cc batch write (64, copied into one buffer)', (batch) => {
      for (let i = 0; i < batch.length; i++) packed.set(batch[i]!, i * IP_LEN);
      return Math.max(0, writePacked(tun.fd, packed, lens, batch.length));
    });
  } finally {
    sink.kill();
  }
  tun.close();

  console.log(`TUN I/O, ${IP_LEN}-byte IP packets, ${SECONDS} s per variant (bun ${Bun.version})`);
  for (const group of ['drain', 'read', 'write']) {
    const inGroup = rows.filter((r) => r.group === group);
    const ref = inGroup[0]!.packets / inGroup[0]!.seconds;
    for (const r of inGroup) {
      const pps = r.packets / r.seconds;
      console.log(`${group.padEnd(5)} ${r.variant.padEnd(62)} ${(pps / 1000).toFixed(1).padStart(7)} k pkts/s ${((pps * IP_LEN * 8) / 1e6).toFixed(0).padStart(6)} Mbit/s  ×${(pps / ref).toFixed(2)}  ${(r.cpuUs / r.packets).toFixed(2)} µs CPU/pkt  ${r.note}`);
    }
  }
}

await main();
