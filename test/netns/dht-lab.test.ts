// The lab DHT: a private mainline DHT in an "internet" namespace that a Warren member in "home"
// publishes its record to and another member finds it through — no public router involved,
// WARREN_LAB=1 everywhere — and a run that leaves no process and no namespace behind.
//
//   ns internet (lab DHT, 8 nodes on 10.77.0.1:6881…) ──veth 10.77.0.0/24── ns home (probes, 10.77.0.2)

import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { startLabDht } from './lib/dht-lab.ts';
import { Lab, LabError, type LabProcess, REPO_ROOT, namespacesOf, pidAlive } from './lib/netns.ts';

const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');
const PROBE = join(REPO_ROOT, 'test/netns/fixtures/dht-probe.ts');
const LAB_RANGE = '10.77.0.0/24';

test('a member in "home" publishes through the lab DHT and another member finds it; nothing is left after', async () => {
  const lab = await Lab.create('dht-lab');
  let dhtProc: LabProcess | undefined;
  try {
    const internet = await lab.ns('internet');
    const home = await lab.ns('home');
    await lab.veth(internet, home, { a: '10.77.0.1/24', b: '10.77.0.2/24' });

    const dht = await startLabDht(lab, internet, { host: '10.77.0.1', port: 6881 });
    dhtProc = dht.proc;
    expect(dht.bootstrap).toEqual(Array.from({ length: 8 }, (_, i) => `10.77.0.1:${6881 + i}`));

    const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex');
    const probe = async (mode: 'publish' | 'lookup'): Promise<unknown> => {
      const argv = [BUN, PROBE, mode, '--host', '10.77.0.2', '--bootstrap', dht.bootstrap.join(','), '--secret', secret, '--lab-range', LAB_RANGE];
      const r = await lab.exec(home, argv, { env: { WARREN_LAB: '1' }, timeoutMs: 30_000 });
      return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
    };

    const published = (await probe('publish')) as { identityKey: string; stored: number[]; errors: (string | null)[] };
    expect(published.errors).toEqual([null, null]); // the current hour and the next
    for (const stored of published.stored) expect(stored).toBeGreaterThan(0);

    // A separate process: the record lives on the lab DHT's nodes, not in the publisher.
    const looked = (await probe('lookup')) as { found: { identityKey: string; endpoints: unknown[] }[] };
    expect(looked.found.map((r) => r.identityKey)).toEqual([published.identityKey]);
    expect(looked.found[0]?.endpoints).toEqual([{ ip: '10.77.0.2', port: 51820, kind: 'public' }]);

    // SIGTERM: the script destroys every node and exits 0.
    expect(await lab.kill(dht.proc)).toBe(0);
    expect(dht.proc.logTail()).toContain('destroying 8 node(s)');
  } finally {
    await lab.cleanup();
  }
  expect(lab.liveProcesses()).toEqual([]);
  if (dhtProc) expect(pidAlive(dhtProc.pid)).toBe(false);
  expect(namespacesOf(lab.id)).toEqual([]);
}, 90_000);

test('under WARREN_LAB=1 the lab DHT refuses a host outside its lab ranges, and startLabDht reports why', async () => {
  const lab = await Lab.create('dht-lab-guard');
  try {
    const internet = await lab.ns('internet');
    const home = await lab.ns('home');
    await lab.veth(internet, home, { a: '10.77.0.1/24', b: '10.77.0.2/24' });
    const started = startLabDht(lab, internet, { host: '10.77.0.1', labRanges: ['10.78.0.0/24'] });
    const err = await started.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).kind).toBe('process-died');
    expect((err as LabError).message).toContain('refusing to bind --host 10.77.0.1');
    expect((err as LabError).message).toContain('outside loopback and the lab ranges');
  } finally {
    await lab.cleanup();
  }
  expect(namespacesOf(lab.id)).toEqual([]);
}, 60_000);
