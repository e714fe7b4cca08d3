// bun:ffi `cc` inside a compiled binary. TinyCC reads its C source from the real file system, but
// a `bun build --compile` binary keeps it in its embedded /$bunfs/ (which `node:fs` can read and
// TinyCC cannot). embed-plugin.ts rewrites ffi/*.ts to call ccEmbedded instead of cc: it copies
// the source into a fresh private directory (mkdtemp: mode 0700, unpredictable name — a file at a
// fixed path in a shared /tmp could be swapped for other C by another user, and this process holds
// CAP_NET_ADMIN), compiles it, and removes the directory at once (TinyCC compiles into memory, so
// nothing on disk is needed afterwards). Outside a compiled binary it is plain `cc`.

import { cc, type FFIFunction, type Library } from 'bun:ffi';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const EMBEDDED_PREFIX = '/$bunfs/';

type CcOptions<Fns extends Record<string, FFIFunction>> = Parameters<typeof cc<Fns>>[0];

/** Where the copy goes: systemd's RuntimeDirectory when there is one (writable for the service), else the temp dir. */
function scratchBase(): string {
  const runtime = process.env.RUNTIME_DIRECTORY?.split(':')[0];
  return runtime && runtime.length > 0 ? runtime : tmpdir();
}

export function ccEmbedded<Fns extends Record<string, FFIFunction>>(options: CcOptions<Fns>): Library<Fns> {
  const source = options.source;
  if (typeof source !== 'string' || !source.startsWith(EMBEDDED_PREFIX)) return cc(options);
  const dir = mkdtempSync(join(scratchBase(), 'warren-cc-'));
  try {
    // The embedded name carries a content hash (name-hash.c); TinyCC only needs the .c extension.
    const copy = join(dir, basename(source));
    writeFileSync(copy, readFileSync(source), { mode: 0o600 });
    return cc({ ...options, source: copy });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
