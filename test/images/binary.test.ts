// The single binary (images/binary/): compiled for linux-x64 here, it must work without the
// source tree — key generation, libsodium through bun:ffi, and a daemon whose Workers, TinyCC
// sources and admin files all come from inside the binary (run from an empty directory, in a
// network namespace of its own). And the build refuses a use of import.meta it cannot follow.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, REPO } from '../../images/binary/compile.ts';
import { EmbedError, findWorkers, rewriteSource } from '../../images/binary/embed-plugin.ts';

const HELPER = join(REPO, 'images/binary/native-source.ts');
let dir: string;
let warren: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-binary-'));
  warren = join(dir, 'warren');
  await compile('bun-linux-x64', warren);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], opts: { stdin?: string; netns?: string } = {}) {
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, warren, ...args] : [warren, ...args];
  const r = Bun.spawnSync(argv, { cwd: dir, stdin: opts.stdin === undefined ? 'ignore' : Buffer.from(opts.stdin) });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe('the compiled binary', () => {
  test('genkey and pubkey', () => {
    const key = run(['genkey']).stdout.trim();
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const pub = run(['pubkey'], { stdin: key });
    expect(pub.code).toBe(0);
    expect(pub.stdout.trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  test('doctor: libsodium, TUN, ip and nft found from inside the binary', () => {
    const r = run(['doctor', '--json']);
    const checks = JSON.parse(r.stdout) as { name: string; ok: boolean }[];
    const byName = Object.fromEntries(checks.map((c) => [c.name, c.ok]));
    expect(byName.libsodium).toBe(true);
    expect(byName.tun).toBe(true);
    expect(byName.iproute2).toBe(true);
  });

  test('the daemon runs: tunnel (outbound Worker with its TinyCC helpers), control socket, admin files', async () => {
    const ns = `warren-img-${process.pid}`;
    const data = join(dir, 'data');
    mkdirSync(data);
    expect(run(['init', '--name', 'binary', '--data', data]).code).toBe(0);
    const config = join(dir, 'warren.toml');
    writeFileSync(
      config,
      `[interface]\nname = "wrnbin0"\nprivate_key_file = "${data}/private.key"\n[network]\nfile = "${data}/network.toml"\n` +
        `[discovery]\nbootstrap = ["127.0.0.1:6881"]\n[control]\nsocket = "${dir}/warren.sock"\n[admin]\nlisten = "127.0.0.1:8080"\n`,
    );
    Bun.spawnSync(['ip', 'netns', 'add', ns]);
    Bun.spawnSync(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    const logPath = join(dir, 'daemon.log');
    const daemon = Bun.spawn(['ip', 'netns', 'exec', ns, warren, 'daemon', '--config', config], { cwd: dir, stdout: Bun.file(logPath), stderr: Bun.file(logPath) });
    const log = () => readFileSync(logPath, 'utf8');
    try {
      // "up" is logged once the TUN, the outbound Worker and the DHT node have started.
      for (let i = 0; i < 120 && !log().includes('wrnbin0 up'); i++) await Bun.sleep(250);
      expect(log()).toContain('wrnbin0 up');
      const status = run(['status', '--socket', `${dir}/warren.sock`], { netns: ns }).stdout;
      expect(status).toContain('interface wrnbin0');
      for (const [path, type] of [['/static/app.css', 'text/css'], ['/static/htmx.js', 'text/javascript'], ['/static/sse.js', 'text/javascript']] as const) {
        const r = Bun.spawnSync(['ip', 'netns', 'exec', ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code} %{content_type}', '-H', 'Host: 127.0.0.1', `http://127.0.0.1:8080${path}`]);
        expect(r.stdout.toString()).toStartWith(`200 ${type}`);
      }
      expect(daemon.exitCode).toBeNull();
    } finally {
      daemon.kill();
      await daemon.exited;
      Bun.spawnSync(['ip', 'netns', 'del', ns]);
    }
    // (The DHT's bootstrap address has nobody behind it: its ICMP errors are expected.)
    const problems = log().split('\n').filter((l) => /error|cannot|failed/i.test(l) && !l.includes('udp: an ICMP error'));
    expect(problems).toEqual([]);
  }, 60_000);
});

describe('what the build rewrites', () => {
  test('Workers become entrypoints, named from the repo root', () => {
    expect(findWorkers(REPO).map((w) => w.slice(REPO.length + 1))).toEqual(expect.arrayContaining(['appliance/dataplane/outbound-worker.ts', 'ffi/tun-reader-worker.ts']));
  });

  test('a cc source becomes an embedded file compiled through ccEmbedded', () => {
    const file = join(REPO, 'ffi/x.ts');
    const out = rewriteSource("import { cc } from 'bun:ffi';\nconst source = new URL('./x.c', import.meta.url).pathname;\ncc({ source, symbols: {} });\n", file, REPO, HELPER);
    expect(out).toContain('import __warren_embedded_0 from "./x.c" with { type: "file" };');
    expect(out).toContain('const source = __warren_embedded_0;');
    expect(out).toContain('__warren_cc({ source');
    expect(out).toContain(`import { ccEmbedded as __warren_cc } from ${JSON.stringify(HELPER)};`);
  });

  test('static files and package files are embedded', () => {
    const file = join(REPO, 'webui/routes/x.ts');
    const out = rewriteSource("load(join(import.meta.dir, '../static/a.css'));\nload(Bun.resolveSync('htmx.org/dist/htmx.min.js', import.meta.dir));\n", file, REPO, HELPER)!;
    expect(out).toContain('import __warren_embedded_0 from "../static/a.css" with { type: "file" };');
    expect(out).toContain('import __warren_embedded_1 from "htmx.org/dist/htmx.min.js" with { type: "file" };');
    expect(out).not.toContain('import.meta');
  });

  test('an unknown use of import.meta stops the build, naming the line', () => {
    const file = join(REPO, 'appliance/x.ts');
    expect(() => rewriteSource("const a = 1;\nconst p = `${import.meta.dir}/data.json`;\n", file, REPO, HELPER)).toThrow(EmbedError);
    expect(() => rewriteSource("const a = 1;\nconst p = `${import.meta.dir}/data.json`;\n", file, REPO, HELPER)).toThrow('appliance/x.ts:2: ');
    expect(rewriteSource('const a = 1;\n', file, REPO, HELPER)).toBeNull();
  });
});
