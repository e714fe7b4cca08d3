// A private mainline DHT (BEP 5) for the lab: N nodes in one process on one IP, consecutive UDP
// ports, joined only to each other — never the public routers.
//
//   bun scripts/lab-dht.ts --host 10.77.0.1 [--port 6881] [--nodes 8] [--lab-range 10.77.0.0/24]…
//
// Stages, in the order they run:
//   check   under WARREN_LAB=1 the host must be loopback or inside a --lab-range (checked before
//           any socket exists); every node then goes through createDht, so the lab guard also
//           sits on each node's socket and refuses any datagram to an address outside the lab;
//   start   node 0 with no bootstrap (a new network), then node i bootstrapping from node 0 and
//           node i-1, one after another so each finds the ones before it;
//   settle  wait until every node has ≥ MIN_NEIGHBOURS in its routing table, or --settle-ms;
//   ready   print `ready <host>:<port0> <host>:<port1> …` on stdout (the one stdout line);
//   run     until SIGTERM or SIGINT, then destroy every node and exit 0.
//
// Diagnostics go to stderr. A lab-guard refusal is fatal and exits non-zero with its message.

import { parseArgs } from 'node:util';
import { createDht, type WarrenDht } from '../appliance/discovery/dht.ts';
import { labGuardFromEnv } from '../appliance/discovery/lab-guard.ts';

/** The task's "ready" bar: a node that knows two others can route a lookup past one loss. */
const MIN_NEIGHBOURS = 2;
const NODE_READY_TIMEOUT_MS = 5_000;

function fail(message: string): never {
  console.error(`lab-dht: ${message}`);
  process.exit(1);
}

function intOption(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}

const { values } = (() => {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        nodes: { type: 'string' },
        'lab-range': { type: 'string', multiple: true },
        'settle-ms': { type: 'string' },
      },
      strict: true,
    });
  } catch (err) {
    return fail(`${err instanceof Error ? err.message : String(err)}\nusage: lab-dht.ts --host IP [--port 6881] [--nodes 8] [--lab-range CIDR]… [--settle-ms 5000]`);
  }
})();

const host = values.host ?? fail('--host IP is required (the address every node binds to, e.g. 10.77.0.1)');
const count = intOption(values.nodes, 'nodes', 8, 1, 256);
const port0 = intOption(values.port, 'port', 6881, 1, 65535 - count + 1);
const settleMs = intOption(values['settle-ms'], 'settle-ms', 5_000, 0, 60_000);
const labRanges = values['lab-range'] ?? [];

// Fail before any socket exists: createDht would only catch a bad host when a peer sends to it.
try {
  labGuardFromEnv(process.env, labRanges)?.check(host);
} catch (err) {
  fail(`refusing to bind --host ${host}: ${err instanceof Error ? err.message : String(err)}`);
}

const nodes: WarrenDht[] = [];
const endpoint = (n: WarrenDht): string => `${host}:${n.address().port}`;

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`lab-dht: ${signal}: destroying ${nodes.length} node(s)`);
  await Promise.all(nodes.map((n) => n.close()));
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

try {
  for (let i = 0; i < count && !stopping; i++) {
    const first = nodes[0];
    const previous = nodes[i - 1];
    const bootstrap = [...new Set([first, previous].filter((n) => n !== undefined).map(endpoint))];
    nodes.push(await createDht({ bootstrap, host, port: port0 + i, labRanges, readyTimeoutMs: NODE_READY_TIMEOUT_MS }));
  }
} catch (err) {
  await Promise.all(nodes.map((n) => n.close()));
  fail(`node ${nodes.length} on ${host}:${port0 + nodes.length} did not start: ${err instanceof Error ? err.message : String(err)}`);
}

// Settle: node 0 learns the others only from their queries, the last node only from its replies.
// A swarm of one or two cannot reach MIN_NEIGHBOURS: ask for what it can have.
const wanted = Math.min(MIN_NEIGHBOURS, count - 1);
const deadline = Date.now() + settleMs;
const neighbours = (): number[] => nodes.map((n) => n.client.toJSON().nodes.length);
const settled = (): boolean => neighbours().every((k) => k >= wanted);
while (!stopping && !settled() && Date.now() < deadline) await Bun.sleep(50);
if (!settled()) {
  console.error(`lab-dht: after ${settleMs} ms some nodes know fewer than ${wanted} others (routing tables: ${neighbours().join(' ')}); going on`);
}

if (!stopping) console.log(`ready ${nodes.map(endpoint).join(' ')}`);
// Kept alive by the nodes' sockets until a signal handler exits.
