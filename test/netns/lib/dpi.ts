/**
 * What deep packet inspection makes of a capture: the probes the DPI tests run against a wire.
 *
 *   captureWhile      tcpdump around some traffic → a pcap in the lab's artifacts
 *   ndpiFlows         nDPI's ndpiReader (Debian libndpi-bin 4.2): one classification per flow
 *   tsharkProtocols   tshark (Debian 4.0) with its default heuristics: the layer stack per packet
 *   inspectCapture    all of the above plus the per-offset byte-uniformity test (stats.ts)
 *
 * The control test (dpi-control.test.ts) shows these name a wireguard-go flow "WireGuard" / `wg`
 * and random UDP "Unknown" / `data`, so that the same probes can be trusted on Warren's native wire.
 * Installed by `bash scripts/setup dpi`.
 */
import { type Lab, run } from './netns.ts';
import { readUdp, type UdpRecord } from './pcap.ts';
import { type ByteUniformity, byteUniformityByOffset } from './stats.ts';

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

/**
 * tshark's own heuristics that random bytes satisfy by chance. RTCP's checks little more than
 * the version bits (2 of 8) and a packet type byte, so a few percent of uniformly random datagrams
 * dissect as `rtcp`; a flow of them is still no RTCP flow to a DPI box, which sees the other ~97 %.
 * Anything else (`wg` above all) in a wire meant to look random is a finding, not chance.
 */
export const CHANCE_HEURISTICS: readonly string[] = ['rtcp'];

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
  } finally {
    // Stopped on failure too, so the partial pcap is flushed for inspection.
    await capture.stop();
  }
  return { pcap: capture.path, result };
}

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
