// `warren daemon --config FILE`: the whole appliance — the tunnel daemon and its LAN web admin.
//
//   first run   the config names a network file (and key) that does not exist yet: only the
//               admin runs, on the LAN address, until its wizard creates or joins a network;
//   settings    what the owner changed in the admin (settings.json beside the network file) is
//               merged over the config file at start, and applied at once when it changes;
//   daemon      appliance/daemon.ts, with its log lines also kept for the admin's diagnostics.
//
// The admin reaches the daemon only through DaemonAdminApi (appliance/admin/), which the web
// admin (webui/) sees as its AdminApi.

import { networkInterfaces } from 'node:os';
import { loadConfigFile, firstRunOf } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { parseEndpoint } from '../dataplane/packet/addr.ts';
import type { DaemonAdminApi } from '../admin/daemon-api.ts';
import { adminPaths } from '../admin/paths.ts';
import { LogRing } from '../admin/log-ring.ts';
import { applySettings, emptySettings, loadSettings, type Settings } from '../admin/settings.ts';
import { systemRunner } from '../system/runner.ts';
import { withLastGood } from '../network/store.ts';
import type { DaemonHandle } from '../daemon.ts';

const ADMIN_PORT = 80;

function stderrLine(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

/** The admin's address: "ip:port", or the LAN interface's first IPv4 address on port 80. */
async function adminAddress(listen: string, lan: string | null, log: (l: string) => void): Promise<{ hostname: string; port: number } | null> {
  if (listen !== 'lan') {
    const ep = parseEndpoint(listen);
    return ep ? { hostname: ep.address, port: ep.port } : null;
  }
  if (!lan) return null;
  for (let waited = 0; ; waited += 1000) {
    const v4 = networkInterfaces()[lan]?.find((a) => a.family === 'IPv4');
    if (v4) return { hostname: v4.address, port: ADMIN_PORT };
    if (waited === 0) log(`admin: waiting for an IPv4 address on ${lan}`);
    await Bun.sleep(1000);
  }
}

function readSettings(path: string, log: (l: string) => void): Settings {
  try {
    return withLastGood(path, loadSettings, (l) => log(`settings: ${l}`));
  } catch (e) {
    log(`settings: ${(e as Error).message}; using none (fix or remove the file)`);
    return emptySettings();
  }
}

export async function runAppliance(configPath: string): Promise<void> {
  const ring = new LogRing();
  const log = (line: string): void => {
    ring.push(`${new Date().toISOString()} ${line}`);
    stderrLine(line);
  };
  const first = firstRunOf(configPath);
  // A broken config is refused here, naming the field (unless it only lacks the network to come).
  let base: Config | null = first ? null : loadConfigFile(configPath);
  const paths = base ? adminPaths(base) : { dataDir: first!.dataDir, settingsPath: `${first!.dataDir}/settings.json`, runDir: first!.controlSocket.replace(/\/[^/]*$/, ''), lan: first!.lan };
  const listen = base ? base.admin.listen : first!.admin.listen;

  let handle: DaemonHandle | null = null;
  let networkReady: () => void = () => {};
  const networkCreated = new Promise<void>((resolve) => (networkReady = resolve));
  // The admin's API is loaded when first used (the web admin, `warren devices`, `warren exit`):
  // an appliance without an admin keeps its memory.
  let apiLoaded: Promise<DaemonAdminApi> | null = null;
  const adminApi = (): Promise<DaemonAdminApi> => (apiLoaded ??= import('../admin/daemon-api.ts').then(({ DaemonAdminApi }) => new DaemonAdminApi({
    ...paths,
    run: systemRunner,
    status: () => handle?.status() ?? null,
    logs: () => ring.lines(),
    onSettingsChanged: (s) => {
      if (handle && base) handle.reconfigure(applySettings(base, s));
    },
    onNetworkChanged: () => networkReady(),
    config: () => base,
    configPath,
    log,
    leakTest: () => handle?.leakTest() ?? null,
  })));
  const at = listen ? await adminAddress(listen, paths.lan, log) : null;
  // Loaded only when there is an admin to run: an appliance without one keeps its memory.
  const admin = at ? (await import('../../webui/app.ts')).createAdmin({ api: await adminApi(), hostname: at.hostname, port: at.port, stateDir: paths.dataDir, log }) : null;
  if (admin) log(`admin: ${admin.url}/`);

  if (!base) {
    if (!admin) throw new Error(`no network yet (${first!.networkFile} does not exist) and no admin to create one: run \`warren init\` or \`warren join INVITE\`, or set [admin] listen`);
    log(`first run: no network yet; open ${admin.url}/ on the LAN to create or join one`);
    await networkCreated;
    base = loadConfigFile(configPath);
    log('first run: network ready; starting the tunnel');
  }
  for (const w of base.warnings) log(`config: ${w}`);
  const { runDaemon } = await import('../daemon.ts');
  handle = await runDaemon(applySettings(base, readSettings(paths.settingsPath, log)), {
    log,
    controlRoutes: {
      'GET /devices': async () => (await adminApi()).devices(),
      'GET /exit': async () => ({ inUse: handle?.status().gateway?.exit ?? null, choice: (await (await adminApi()).privacy()).exit }),
      'POST /exit': async (body) => {
        const exit = (body as { exit?: unknown } | null)?.exit;
        if (typeof exit !== 'string') throw new Error('give the exit: "best" or a member\'s public key');
        const api = await adminApi();
        return { choice: (await api.setPrivacy({ ...(await api.privacy()), exit })).exit };
      },
    },
  });
  process.on('exit', () => void admin?.stop());
}
