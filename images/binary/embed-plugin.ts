// What `bun build --compile` cannot follow by itself, rewritten at build time (the sources stay
// as they are; `bun appliance/cli/main.ts` never sees this). Inside a compiled binary every
// module's import.meta.url is the binary's own (file:///$bunfs/root/<name>), so a path computed
// from import.meta at run time points nowhere. Each use in Warren's sources is one of:
//
//   new URL('./x-worker.ts', import.meta.url)          a Worker: the file becomes an extra
//                                                      entrypoint (Bun embeds it as
//                                                      /$bunfs/root/<path from the repo>.js) and
//                                                      the URL is rewritten to that path
//   new URL('./x.c', import.meta.url).pathname         a bun:ffi `cc` source: embedded as a file,
//                                                      and `cc(` becomes ccEmbedded( (native-source.ts)
//   join(import.meta.dir, '../static/app.css')         a file read at run time: embedded
//   Bun.resolveSync('htmx.org/dist/x.js', import.meta.dir)   a package file: embedded
//
// Any other import.meta.url/dir/path in Warren's own files stops the build, naming the line, so a
// new use is taught here instead of failing on a router.

import type { BunPlugin } from 'bun';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** The directories of Warren's own sources (relative to the repo). */
export const SOURCE_DIRS = ['appliance', 'ffi', 'webui'];

const WORKER = /new URL\('(\.{1,2}\/[^']+\.ts)',\s*import\.meta\.url\)/g;
const C_SOURCE = /new URL\('(\.{1,2}\/[^']+\.c)',\s*import\.meta\.url\)\.pathname/g;
const DIR_FILE = /join\(import\.meta\.dir,\s*'([^']+)'\)/g;
const PACKAGE_FILE = /Bun\.resolveSync\('([^']+)',\s*import\.meta\.dir\)/g;
const ANY_PATH_USE = /import\.meta\.(url|dir|dirname|path|filename|file)\b/;

export class EmbedError extends Error {
  readonly kind = 'embed';
}

function sourceFiles(repo: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of SOURCE_DIRS) walk(join(repo, d));
  return out.sort();
}

/** Every Worker script Warren's sources start (absolute paths): extra entrypoints of the build. */
export function findWorkers(repo: string): string[] {
  const found = new Set<string>();
  for (const file of sourceFiles(repo)) {
    for (const m of readFileSync(file, 'utf8').matchAll(WORKER)) found.add(resolve(dirname(file), m[1]!));
  }
  return [...found].sort();
}

/**
 * The rewritten text of one source file, or null when it has nothing to rewrite.
 * Throws EmbedError for a use of import.meta's location it does not know.
 */
export function rewriteSource(text: string, file: string, repo: string, helper: string): string | null {
  if (!ANY_PATH_USE.test(text)) return null;
  const imports: string[] = [];
  const embed = (spec: string, type: 'file'): string => {
    const name = `__warren_embedded_${imports.length}`;
    imports.push(`import ${name} from ${JSON.stringify(spec)} with { type: ${JSON.stringify(type)} };`);
    return name;
  };
  let out = text
    .replace(WORKER, (_m, rel: string) => {
      const target = relative(repo, resolve(dirname(file), rel));
      return `new URL(${JSON.stringify(`./${target}`)}, import.meta.url)`;
    })
    .replace(C_SOURCE, (_m, rel: string) => embed(rel, 'file'))
    .replace(DIR_FILE, (_m, rel: string) => embed(rel.startsWith('.') ? rel : `./${rel}`, 'file'))
    .replace(PACKAGE_FILE, (_m, spec: string) => embed(spec, 'file'));
  if (out !== text && /new URL\('[^']+\.c',\s*import\.meta\.url\)/.test(text)) {
    if (!/\bcc\(\{/.test(out)) throw new EmbedError(`${relative(repo, file)}: embeds a C source but calls no cc({ … }) to rewrite`);
    out = out.replace(/\bcc\(\{/g, '__warren_cc({');
    imports.push(`import { ccEmbedded as __warren_cc } from ${JSON.stringify(helper)};`);
  }
  // What is left must be a rewritten worker URL, nothing else.
  out.split('\n').forEach((line, i) => {
    if (ANY_PATH_USE.test(line) && !/new URL\("\.\/[^"]+\.ts", import\.meta\.url\)/.test(line)) {
      throw new EmbedError(`${relative(repo, file)}:${i + 1}: a use of import.meta's location that a compiled binary cannot follow: ${line.trim()} — teach images/binary/embed-plugin.ts`);
    }
  });
  return `${imports.join('\n')}\n${out}`;
}

/** The Bun.build plugin over Warren's own sources (node_modules is left alone). */
export function embedPlugin(repo: string): BunPlugin {
  const helper = resolve(import.meta.dir, 'native-source.ts');
  const ours = SOURCE_DIRS.map((d) => `${join(repo, d)}/`);
  return {
    name: 'warren-embed',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!ours.some((d) => args.path.startsWith(d))) return undefined;
        const text = readFileSync(args.path, 'utf8');
        const rewritten = rewriteSource(text, args.path, repo, helper);
        return { contents: rewritten ?? text, loader: 'ts' };
      });
    },
  };
}
