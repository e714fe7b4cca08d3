/**
 * `bash scripts/fuzz [--iterations N] [--seed S] [--target NAME]`: feeds every target (targets.ts)
 * N mutated inputs (default 100,000 each; the long run in the issue note used 1,000,000) and
 * reports crashes (an error that is not the module's typed error; for the admin, an answer >= 500),
 * hangs (one input > 200 ms) and memory (RSS and the JS heap before and after each target). Exit 1
 * on any crash or hang, printing seed and iteration so it can be replayed.
 *
 * An input over 200 ms is fed again, three times: when one of those takes under 200 ms, the time
 * was the machine's (a GC pause, another process on the CPU), not the input's, and it is counted
 * as a stall; when all three are slow it is a hang, reported like a crash.
 *
 * A target's run() may return a promise (the admin's routes): it is awaited, and one that has not
 * settled after HANG_LIMIT_MS counts as a crash. Synchronous targets are never awaited, so their
 * loop stays as fast as before.
 */
import { heapStats } from 'bun:jsc';
import { parseArgs } from 'node:util';
import { buildTargets, isTypedError, type Target } from './targets.ts';
import { mutate, Rng } from './mutate.ts';

/** One input slower than this is a hang. */
export const SLOW_MS = 200;
/** A promise still pending after this long is given up on (and reported). */
const HANG_LIMIT_MS = 5_000;

export interface FuzzResult {
  target: string;
  iterations: number;
  crashes: { iteration: number; error: string; input: string }[];
  /** The slowest input's time (ms), as first fed. */
  slowest: number;
  /** Inputs over SLOW_MS that were fast when fed again (the machine's pause, not the input's). */
  stalls: number;
  /** Resident memory and the JS heap (MB) after a full GC, before the first input and after the last. */
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
}

class Unsettled extends Error {
  override readonly name = 'Unsettled';
}

function settled(p: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unsettled(`no answer within ${HANG_LIMIT_MS} ms`)), HANG_LIMIT_MS);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

function memoryMB(): { rss: number; heap: number } {
  Bun.gc(true);
  return { rss: process.memoryUsage.rss() / 1048576, heap: heapStats().heapSize / 1048576 };
}

/** Feeds one input again (a slow one); its time in ms, whatever the target throws. */
async function timeAgain(target: Target, input: Uint8Array): Promise<number> {
  const t0 = performance.now();
  try {
    const pending = target.run(input);
    if (pending) await settled(pending);
  } catch (e) {
    if (e instanceof Unsettled) return Infinity;
  }
  return performance.now() - t0;
}

const describeError = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

export async function fuzz(iterations: number, seed: number, only?: string, targets: Target[] = buildTargets()): Promise<FuzzResult[]> {
  const results: FuzzResult[] = [];
  for (const target of targets) {
    if (only && !target.name.includes(only)) continue;
    const rng = new Rng(seed ^ target.name.length);
    const r: FuzzResult = { target: target.name, iterations, crashes: [], slowest: 0, stalls: 0, rssBefore: 0, rssAfter: 0, heapBefore: 0, heapAfter: 0 };
    const crash = (iteration: number, e: unknown, input: Uint8Array): void => {
      if (r.crashes.length < 5) r.crashes.push({ iteration, error: describeError(e), input: Buffer.from(input).toString('hex') });
    };
    await target.start?.();
    ({ rss: r.rssBefore, heap: r.heapBefore } = memoryMB());
    for (let i = 0; i < iterations; i++) {
      const input = target.generate ? target.generate(rng) : mutate(target.seeds, rng, target.tokens);
      const t0 = performance.now();
      try {
        const pending = target.run(input);
        if (pending) await settled(pending);
      } catch (e) {
        if (!isTypedError(e)) crash(i, e, input);
      }
      const ms = performance.now() - t0;
      r.slowest = Math.max(r.slowest, ms);
      if (ms > SLOW_MS) {
        const again: number[] = [];
        for (let k = 0; k < 3; k++) again.push(await timeAgain(target, input));
        if (Math.min(...again) > SLOW_MS) crash(i, new Error(`Hang: ${ms.toFixed(0)} ms, and ${again.map((t) => t.toFixed(0)).join(', ')} ms fed again`), input);
        else r.stalls++;
      }
    }
    ({ rss: r.rssAfter, heap: r.heapAfter } = memoryMB());
    try {
      await target.finish?.();
    } catch (e) {
      crash(iterations, e, new Uint8Array(0)); // "iteration N": after the last input
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
  let bad = false;
  const results = await fuzz(iterations, seed, values.target);
  for (const r of results) {
    bad ||= r.crashes.length > 0;
    const stalls = r.stalls ? ` (${r.stalls} input${r.stalls > 1 ? 's' : ''} over ${SLOW_MS} ms, fast when fed again: stalls)` : '';
    console.log(
      `${r.target.padEnd(44)} ${r.iterations} inputs  crashes ${r.crashes.length}  slowest ${r.slowest.toFixed(1)} ms${stalls}  RSS ${r.rssBefore.toFixed(0)} → ${r.rssAfter.toFixed(0)} MB  heap ${r.heapBefore.toFixed(1)} → ${r.heapAfter.toFixed(1)} MB`,
    );
    for (const c of r.crashes) console.log(`  crash at iteration ${c.iteration} (seed ${seed}): ${c.error}\n  input ${c.input}`);
  }
  console.log(`seed ${seed}; ${((performance.now() - t0) / 1000).toFixed(1)} s; RSS ${(rss0 / 1048576).toFixed(0)} → ${memoryMB().rss.toFixed(0)} MB`);
  process.exit(bad ? 1 : 0);
}
