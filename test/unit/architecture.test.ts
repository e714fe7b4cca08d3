// The project's shape, checked: it type-checks (strict), and imports go one way
// (STYLE.md §5: webui and cli → control → the rest; the data plane never reaches up).

import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dir, '../..');

/** TypeScript files under `dir`; a layer that does not exist yet has none. */
function sources(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(join(ROOT, dir))) return out;
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = join(dir, name);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Runtime imports (type-only imports carry no code and are allowed across layers). */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
    if (m[1]) continue;
    const spec = m[2] ?? '';
    if (spec.startsWith('.')) found.push(relative(ROOT, resolve(ROOT, dirname(file), spec)));
  }
  for (const m of text.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(relative(ROOT, resolve(ROOT, dirname(file), m[1] ?? '')));
  return found;
}

const DATA_PLANE = ['appliance/dataplane', 'appliance/session', 'appliance/noise', 'appliance/transport', 'ffi'];
const ABOVE_DATA_PLANE = ['webui', 'appliance/cli', 'appliance/control', 'appliance/config/load', 'appliance/discovery', 'appliance/state', 'appliance/system', 'appliance/daemon'];

describe('architecture', () => {
  test('the data plane never imports webui, cli, control, config loading, discovery, state or system', () => {
    const bad: string[] = [];
    for (const dir of DATA_PLANE) {
      for (const file of sources(dir)) {
        for (const dep of imports(file)) if (ABOVE_DATA_PLANE.some((p) => dep.startsWith(p))) bad.push(`${file} → ${dep}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test('nothing below the CLI and web admin imports them', () => {
    const bad: string[] = [];
    for (const file of [...sources('appliance'), ...sources('ffi')]) {
      if (file.startsWith('appliance/cli/')) continue;
      for (const dep of imports(file)) if (dep.startsWith('webui') || dep.startsWith('appliance/cli')) bad.push(`${file} → ${dep}`);
    }
    expect(bad).toEqual([]);
  });

  test('the web admin reaches the appliance only through control', () => {
    const bad: string[] = [];
    for (const file of sources('webui')) {
      for (const dep of imports(file)) if (dep.startsWith('appliance/') && !dep.startsWith('appliance/control')) bad.push(`${file} → ${dep}`);
    }
    expect(bad).toEqual([]);
  });

  test('the whole tree type-checks under strict TypeScript', () => {
    const r = Bun.spawnSync([join(ROOT, 'node_modules/.bin/tsc'), '--noEmit', '-p', ROOT], { stdout: 'pipe', stderr: 'pipe' });
    expect(r.stdout.toString() + r.stderr.toString()).toBe('');
    expect(r.exitCode).toBe(0);
  }, 120_000);
});
