/**
 * A private mainline DHT inside a lab namespace (scripts/lab-dht.ts), for tests that need
 * discovery without the internet: the nodes bootstrap only from each other, under WARREN_LAB=1.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { type Lab, LabError, type LabProcess, REPO_ROOT, waitFor } from './netns.ts';

const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');
const SCRIPT = join(REPO_ROOT, 'scripts/lab-dht.ts');
const READY_TIMEOUT_MS = 20_000;

export interface LabDhtOptions {
  /** The address every node binds to; it must already be on an interface of `ns`. */
  readonly host: string;
  /** The first node's UDP port; the others follow it (default 6881). */
  readonly port?: number;
  /** How many nodes (default 8). */
  readonly nodes?: number;
  /** CIDRs the lab guard allows besides loopback (default: the host's /24). */
  readonly labRanges?: readonly string[];
}

export interface LabDht {
  readonly proc: LabProcess;
  /** `ip:port` of every node, to pass as createDht's `bootstrap`. */
  readonly bootstrap: string[];
}

function slash24(host: string): string {
  const octets = host.split('.');
  if (octets.length !== 4) throw new LabError('bad-argument', `lab DHT host ${JSON.stringify(host)} is not IPv4; pass labRanges explicitly`);
  return `${octets.slice(0, 3).join('.')}.0/24`;
}

/** The `ready …` line the script prints once, or undefined while it has not. */
function readyLine(logPath: string): string[] | undefined {
  let log: string;
  try {
    log = readFileSync(logPath, 'utf8');
  } catch {
    return undefined;
  }
  // Only complete lines: the last element is whatever follows the last newline.
  const line = log.split('\n').slice(0, -1).find((l) => l.startsWith('ready '));
  return line?.trim().split(/\s+/).slice(1);
}

/**
 * Spawns the lab DHT in `ns` (tracked by the Lab, so cleanup ends it) and resolves with its
 * bootstrap list once every node is up. Throws a LabError with the log tail if it exits first
 * or is not ready within 20 s (and then ends it).
 */
export async function startLabDht(lab: Lab, ns: string, opts: LabDhtOptions): Promise<LabDht> {
  const argv = [BUN, SCRIPT, '--host', opts.host];
  if (opts.port !== undefined) argv.push('--port', String(opts.port));
  if (opts.nodes !== undefined) argv.push('--nodes', String(opts.nodes));
  for (const range of opts.labRanges ?? [slash24(opts.host)]) argv.push('--lab-range', range);
  const proc = lab.spawn(ns, argv, { log: `lab-dht-${opts.host}`, env: { WARREN_LAB: '1' } });
  try {
    const bootstrap = await waitFor(
      `the lab DHT in ${ns} to print 'ready' (log: ${proc.logPath})`,
      () => {
        const code = proc.exitCode();
        if (code !== null) throw new LabError('process-died', `the lab DHT in ${ns} exited ${code} before it was ready:\n${proc.logTail()}`);
        return readyLine(proc.logPath);
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 100 },
    );
    return { proc, bootstrap };
  } catch (err) {
    await lab.kill(proc, 'SIGTERM', 3_000);
    if (err instanceof LabError && err.kind === 'timeout') throw new LabError('timeout', `${err.message}\n${proc.logTail()}`);
    throw err;
  }
}
