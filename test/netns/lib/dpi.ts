/**
 * What deep packet inspection makes of a capture: the probes the DPI tests run against a wire.
 *
 *   captureWhile      tcpdump around some traffic → a pcap in the lab's artifacts
 *   ndpiFlows         nDPI's ndpiReader (Debian libndpi-bin 4.2): one classification per flow
 *   tsharkProtocols   tshark (Debian 4.0) with its default heuristics: the layer stack per packet
 *   inspectCapture    all of the above plus the per-offset byte-uniformity test (stats.ts)
 *   randomnessFindings   why an inspected capture does not pass for random UDP (empty: it does)
 *
 * The control test (dpi-control.test.ts) shows these name a wireguard-go flow "WireGuard" / `wg`
 * and random UDP "Unknown" / `data`, so that the same probes can be trusted on Warren's native wire.
 * Installed by `bash scripts/setup dpi`.
 *
 * Blind spot seen: nDPI 4.2 names a WireGuard flow Unknown when both ends use the same UDP port
 * (its dissector pairs handshake messages by direction), so a control must use distinct ports.
 */
import { existsSync, statSync } from 'node:fs';
import { type Lab, run } from './netns.ts';
import { readUdp, type UdpRecord } from './pcap.ts';
import { type ByteUniformity, byteUniformityByOffset, describeUniformity } from './stats.ts';

export type DpiErrorKind = 'tool-missing' | 'tool-failed' | 'unparseable';

export class DpiError extends Error {
  constructor(
    readonly kind: DpiErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DpiError';
  }
}

function requireTool(tool: string): void {
  if (Bun.which(tool) === null) {
    throw new DpiError('tool-missing', `${tool} is not installed; run \`bash scripts/setup dpi\` as root and try again`);
  }
}

function shown(argv: string[], stdout: string, stderr: string, code: number): string {
  return `\`${argv.join(' ')}\` exited ${code}\nstdout:\n${stdout.trim()}\nstderr:\n${stderr.trim()}`;
}

export interface NdpiFlow {
  /** nDPI's protocol name: "WireGuard", "Unknown", or "MASTER.APP" such as "HTTP.Amazon". */
  proto: string;
  /** nDPI's numeric id, "206" or "7.178". */
  protoId: string;
  /** "DPI", "Match by port", "Unknown", … (nDPI's ndpi_confidence_t, as printed). */
  confidence: string;
  /** nDPI's category, "VPN" for WireGuard; "" when it printed none (Unknown flows). */
  category: string;
  l4: string;
  /** "ADDR:PORT" as ndpiReader prints it (the flow's first-seen side first). */
  src: string;
  dst: string;
  /** Packets in both directions. */
  packets: number;
}

// ndpiReader -v 2 prints each flow on one line, e.g. (tab-indented, nDPI 4.2):
//   1	UDP 10.91.0.1:40000 <-> 10.91.0.2:51820 [proto: 206/WireGuard][Encrypted][Confidence: DPI]
//     [cat: VPN/2][51 pkts/65490 bytes <-> 51 pkts/65434 bytes][Goodput ratio: 97/97]…
// An unidirectional flow has `->` and "[300 pkts/230763 bytes -> 0 pkts/0 bytes]".
const FLOW_LINE = /^\s*\d+\s+(\S+)\s+(\S+)\s+<?->\s+(\S+)\s.*?\[proto: ([^/\]]+)\/([^\]]+)\]/;
const CONFIDENCE = /\[Confidence: ([^\]]+)\]/;
const CATEGORY = /\[cat: ([^/\]]+)\/\d+\]/;
const PACKETS = /\[(\d+) pkts\/\d+ bytes <?-> (\d+) pkts\/\d+ bytes\]/;

/** Parses ndpiReader's flow lines; exported for tests of the parser. */
export function parseNdpiOutput(text: string): NdpiFlow[] {
  const flows: NdpiFlow[] = [];
  for (const line of text.split('\n')) {
    const m = FLOW_LINE.exec(line);
    if (m === null) continue;
    const p = PACKETS.exec(line);
    if (p === null) throw new DpiError('unparseable', `ndpiReader flow line without packet counts:\n${line}`);
    flows.push({
      l4: m[1] ?? '',
      src: m[2] ?? '',
      dst: m[3] ?? '',
      protoId: m[4] ?? '',
      proto: m[5] ?? '',
      confidence: CONFIDENCE.exec(line)?.[1] ?? '',
      category: CATEGORY.exec(line)?.[1] ?? '',
      packets: Number(p[1]) + Number(p[2]),
    });
  }
  return flows;
}

export interface NdpiOptions {
  /**
   * Let nDPI guess a protocol from the port when its dissectors find nothing (its default, and
   * what a middlebox does). false passes `-d`: content-based classification only.
   */
  guess?: boolean;
}

/** Classifies every flow of a pcap with `ndpiReader -i PCAP -v 2`. */
export async function ndpiFlows(pcapPath: string, opts: NdpiOptions = {}): Promise<NdpiFlow[]> {
  requireTool('ndpiReader');
  const argv = ['ndpiReader', ...(opts.guess === false ? ['-d'] : []), '-i', pcapPath, '-v', '2'];
  const { code, stdout, stderr } = await run(argv, { check: false });
  // ndpiReader exits 0 even when it cannot open the file: it prints "ERROR: …" on stdout instead.
  if (code !== 0 || /^ERROR/m.test(stdout) || !stdout.includes('Reading packets from pcap file')) {
    throw new DpiError('tool-failed', shown(argv, stdout, stderr, code));
  }
  const flows = parseNdpiOutput(stdout);
  // Statistics are printed only when packets were read; then at least one flow line must be too.
  if (flows.length === 0 && stdout.includes('Detected protocols:')) {
    throw new DpiError('unparseable', `no flow line recognised in ndpiReader's output\n${shown(argv, stdout, stderr, code)}`);
  }
  return flows;
}

// tshark warns on stderr when run as root; that is not an error.
const TSHARK_NOISE = /^Running as user "root" and group "root"\. This could be dangerous\.$/;

/**
 * The protocol stack tshark's default dissectors and heuristics give each packet matching the
 * display filter, e.g. "eth:ethertype:ip:udp:wg" or "eth:ethertype:ip:udp:data". No dissector is
 * forced: this is what Wireshark shows anyone who opens the capture.
 */
export async function tsharkProtocols(pcapPath: string, filter = 'udp'): Promise<string[]> {
  requireTool('tshark');
  const argv = ['tshark', '-r', pcapPath, '-Y', filter, '-T', 'fields', '-e', 'frame.protocols'];
  const { code, stdout, stderr } = await run(argv, { check: false });
  if (code !== 0) {
    const errors = stderr.split('\n').filter((l) => !TSHARK_NOISE.test(l)).join('\n');
    throw new DpiError('tool-failed', shown(argv, stdout, errors, code));
  }
  return stdout.split('\n').filter((l) => l !== '');
}

/** The innermost layer tshark named: "wg", "data", "rtcp", … */
export function topProtocol(stack: string): string {
  return stack.slice(stack.lastIndexOf(':') + 1);
}

/** How many packets ended in each innermost layer: { data: 298, rtcp: 2 }. */
export function countTopProtocols(stacks: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of stacks) {
    const top = topProtocol(s);
    counts[top] = (counts[top] ?? 0) + 1;
  }
  return counts;
}

/** Captures on `ns`/`iface` (tcpdump, BPF `filter`) for as long as `fn` runs; returns the pcap path. */
export async function captureWhile<T>(
  lab: Lab,
  ns: string,
  iface: string,
  filter: string,
  fn: () => Promise<T>,
): Promise<{ pcap: string; result: T }> {
  const capture = await lab.capture(ns, iface, filter);
  let result: T;
  try {
    result = await fn();
    await settled(capture.path);
  } finally {
    // Stopped on failure too, so the partial pcap is flushed for inspection.
    await capture.stop();
  }
  return { pcap: capture.path, result };
}

/**
 * Waits until tcpdump has written what the kernel still holds for it: SIGINT ends its loop at
 * once and drops the packets not yet read (seen: the last 28 of a 2,000-datagram burst). Done
 * when the pcap stops growing for SETTLE_MS, or after SETTLE_MAX_MS.
 */
async function settled(path: string): Promise<void> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  let last = -1;
  for (;;) {
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size === last || Date.now() > deadline) return;
    last = size;
    await Bun.sleep(SETTLE_MS);
  }
}
const SETTLE_MS = 200;
const SETTLE_MAX_MS = 5_000;

export interface CaptureInspection {
  pcap: string;
  flows: NdpiFlow[];
  /** tshark's stack per UDP datagram. */
  protocols: string[];
  topProtocols: Record<string, number>;
  /**
   * UDP payloads as read back from the pcap (pcap.ts). pcap.ts does not reassemble IP fragments:
   * keep datagrams under the path MTU when their bytes are to be tested.
   */
  payloads: Uint8Array[];
  uniformity: ByteUniformity;
}

export interface InspectOptions {
  /** tshark display filter selecting the packets of interest (default "udp"). */
  filter?: string;
  /** Keep only these payloads for the uniformity test (e.g. one direction, or one port). */
  select?: (r: UdpRecord) => boolean;
  /** Byte offsets to test for uniformity (default 16); each needs ≥ 1,280 payloads that long. */
  offsets?: number;
  familyAlpha?: number;
  ndpi?: NdpiOptions;
}

/** Runs every probe on one pcap: nDPI's flows, tshark's layers and the byte-uniformity test. */
export async function inspectCapture(pcap: string, opts: InspectOptions = {}): Promise<CaptureInspection> {
  const [flows, protocols] = await Promise.all([ndpiFlows(pcap, opts.ndpi), tsharkProtocols(pcap, opts.filter ?? 'udp')]);
  const records = readUdp(pcap).filter(opts.select ?? (() => true));
  const payloads = records.map((r) => r.payload);
  const uniformity = byteUniformityByOffset(payloads, opts.offsets ?? 16, opts.familyAlpha);
  return { pcap, flows, protocols, topProtocols: countTopProtocols(protocols), payloads, uniformity };
}

// What random bytes look like to these tools, measured on 500 synthetic flows × 250 datagrams of
// 32–512 uniformly random bytes (nDPI 4.2, tshark 4.0): nDPI named 12 % of the flows RTP (its RTP
// check is little more than a first byte of 0x80/0xA0 and a plausible payload type, tried on each
// of the first 24 packets) and 0.2 % Skype_Teams, the rest Unknown; tshark called 99.9 % of the
// datagrams `data`, the rest rtcp, goose, thrift, mp2t, pathport — and 2 `wg`: its heuristic takes
// any 148-byte datagram starting with 0x01 for a handshake initiation. So "random" is a rate, not
// an absolute, and the bounds below leave room for chance while catching any real signature.

/** Random flows nDPI names nothing: at least this share (chance misnames ~12 %). */
export const MIN_UNKNOWN_FLOW_SHARE = 0.5;
/** Random datagrams tshark calls `data`: at least this share (chance misnames ~0.1 %). */
export const MIN_DATA_SHARE = 0.95;
/** Random datagrams tshark calls `wg`: at most this share (chance ~1e-5 with lengths spread out). */
export const MAX_WG_SHARE = 0.01;

/**
 * Why a capture does NOT look like random UDP to DPI, one sentence each; empty when it does.
 * The wire must pass all of: nDPI names no flow WireGuard or VPN, names most flows nothing,
 * tshark calls (nearly) every datagram `data` and almost none `wg`, and every tested byte offset
 * is uniform.
 */
export function randomnessFindings(seen: CaptureInspection): string[] {
  const findings: string[] = [];
  const vpn = seen.flows.filter((f) => f.proto.includes('WireGuard') || f.category === 'VPN');
  if (vpn.length > 0) findings.push(`nDPI names ${vpn.length} flow(s) ${[...new Set(vpn.map((f) => f.proto))].join(', ')}`);
  const unknown = seen.flows.filter((f) => f.proto === 'Unknown').length;
  if (seen.flows.length === 0) findings.push('nDPI saw no flow');
  else if (unknown < MIN_UNKNOWN_FLOW_SHARE * seen.flows.length) {
    findings.push(`nDPI names ${seen.flows.length - unknown} of ${seen.flows.length} flows: ${seen.flows.map((f) => f.proto).join(', ')}`);
  }
  const total = seen.protocols.length;
  const data = seen.topProtocols.data ?? 0;
  const wg = seen.topProtocols.wg ?? 0;
  if (total === 0) findings.push('tshark saw no datagram');
  else {
    if (data < MIN_DATA_SHARE * total) findings.push(`tshark calls only ${data} of ${total} datagrams data: ${JSON.stringify(seen.topProtocols)}`);
    if (wg > MAX_WG_SHARE * total) findings.push(`tshark dissects ${wg} of ${total} datagrams as WireGuard`);
  }
  if (!seen.uniformity.pass) findings.push(describeUniformity(seen.uniformity));
  return findings;
}
