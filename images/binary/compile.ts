// `bun build --compile` of appliance/cli/main.ts for one target, with the embedding that a single
// binary needs (embed-plugin.ts): the Workers as extra entrypoints, the bun:ffi C sources and the
// admin's static files inside the binary. libsodium stays a system library (dlopen at run time;
// without it Warren falls back to @noble, slower and ~8 MB larger).
//
//   bun images/binary/compile.ts --target bun-linux-arm64 --outfile images/out/warren-linux-arm64
//
// Bun fetches the target's runtime from the npm registry (@oven/bun-linux-<arch>[-musl], the same
// version as the Bun doing the build) into its cache (~/.bun/install/cache) on first use.

import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { embedPlugin, findWorkers } from './embed-plugin.ts';

export const TARGETS = ['bun-linux-x64', 'bun-linux-arm64', 'bun-linux-x64-musl', 'bun-linux-arm64-musl'] as const;
export type Target = (typeof TARGETS)[number];

export const REPO = resolve(import.meta.dir, '../..');
export const ENTRY = resolve(REPO, 'appliance/cli/main.ts');

export async function compile(target: Target, outfile: string): Promise<void> {
  const workers = findWorkers(REPO);
  const result = await Bun.build({
    entrypoints: [ENTRY, ...workers],
    root: REPO,
    compile: { target, outfile },
    plugins: [embedPlugin(REPO)],
    throw: false,
  });
  if (!result.success) {
    for (const log of result.logs) process.stderr.write(`${String(log)}\n`);
    throw new Error(`compiling for ${target} failed`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { target: { type: 'string' }, outfile: { type: 'string' } } });
  const target = values.target as Target | undefined;
  if (!target || !TARGETS.includes(target) || !values.outfile) {
    process.stderr.write(`usage: bun images/binary/compile.ts --target (${TARGETS.join('|')}) --outfile FILE\n`);
    process.exit(2);
  }
  try {
    await compile(target, resolve(values.outfile));
  } catch (e) {
    process.stderr.write(`compile: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
