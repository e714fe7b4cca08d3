/**
 * `bash scripts/fuzz [--iterations N] [--seed S] [--target NAME]`: feeds every target (targets.ts)
 * N mutated inputs (default 100,000 each; the long run in the issue note used 1,000,000) and
 * reports crashes (an error that is not the module's typed error), hangs (one input > 200 ms)
 * and memory (RSS before and after). Exit 1 on any crash or hang, printing seed and iteration
 * so it can be replayed.
 */
import { parseArgs } from 'node:util';
import { buildTargets, isTypedError, type Target } from './targets.ts';
import { mutate, Rng } from './mutate.ts';

export interface FuzzResult {
  target: string;
  iterations: number;
  crashes: { iteration: number; error: string; input: string }[];
  slowest: number;
}

export function fuzz(iterations: number, seed: number, only?: string, targets: Target[] = buildTargets()): FuzzResult[] {
  const results: FuzzResult[] = [];
  for (const target of targets) {
    if (only && !target.name.includes(only)) continue;
    const rng = new Rng(seed ^ target.name.length);
    const r: FuzzResult = { target: target.name, iterations, crashes: [], slowest: 0 };
    for (let i = 0; i < iterations; i++) {
      const input = mutate(target.seeds, rng);
      const t0 = performance.now();
      try {
        target.run(input);
      } catch (e) {
        if (!isTypedError(e) && r.crashes.length < 5) {
          r.crashes.push({ iteration: i, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), input: Buffer.from(input).toString('hex') });
        }
      }
      r.slowest = Math.max(r.slowest, performance.now() - t0);
    }
    results.push(r);
  }
  return results;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { iterations: { type: 'string' }, seed: { type: 'string' }, target: { type: 'string' } } });
  const iterations = Number(values.iterations ?? 100_000);
  const seed = Number(values.seed ?? Date.now() % 1_000_000);
  const rss0 = process.memoryUsage.rss();
  const t0 = performance.now();
  const results = fuzz(iterations, seed, values.target);
  Bun.gc(true);
  let bad = false;
  for (const r of results) {
    const hang = r.slowest > 200;
    bad ||= r.crashes.length > 0 || hang;
    console.log(`${r.target.padEnd(44)} ${r.iterations} inputs  crashes ${r.crashes.length}  slowest ${r.slowest.toFixed(1)} ms${hang ? '  HANG' : ''}`);
    for (const c of r.crashes) console.log(`  crash at iteration ${c.iteration} (seed ${seed}): ${c.error}\n  input ${c.input}`);
  }
  console.log(`seed ${seed}; ${((performance.now() - t0) / 1000).toFixed(1)} s; RSS ${(rss0 / 1048576).toFixed(0)} → ${(process.memoryUsage.rss() / 1048576).toFixed(0)} MB`);
  process.exit(bad ? 1 : 0);
}
