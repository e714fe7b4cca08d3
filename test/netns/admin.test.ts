// The appliance's web admin, for real: a home appliance starts with no network (first run) and
// only its admin on the LAN address; Chromium, running in a LAN device's namespace, walks the
// wizard (password, then joining the network of an exit appliance with its invite), approves the
// exit, and sets the TV to "block" — and the daemon is seen to act on each step: the tunnel comes
// up, the LAN reaches the internet from the exit's address, the TV reaches nothing.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'smol-toml';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Lab, waitFor, type LabProcess } from './lib/netns.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
import { startLabDht } from './lib/dht-lab.ts';
import { ADDR, EXIT_PORT, HOME_PORT, MAC, buildGatewayLab, curlFrom, type GatewayLab } from './lib/gateway-lab.ts';
import { WARREN } from './lib/homes.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = resolve(import.meta.dir, '../../artifacts/screenshots');
const LAB_RANGES = ['203.0.113.0/24', '198.51.100.0/24', '10.0.0.0/24', '192.168.0.0/16'];
const PASSWORD = 'correct horse battery';
const ADMIN = `http://${ADDR.homeLan}`;

let lab: Lab;
let g: GatewayLab;
let exit: WarrenNode;
let home: LabProcess;
let homeDir: string;
let browser: Browser;
let page: Page;
let invite = '';
let exitKey = '';

const cli = async (ns: string, args: string[], stdin?: string) => (await lab.exec(ns, [WARREN, ...args], { stdin })).stdout;

async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    await page?.screenshot({ path: join(SHOTS, `failure-appliance-${name}.png`), fullPage: true }).catch(() => {});
    console.log(`--- home daemon ---\n${home?.logTail(40)}\n--- exit ---\n${exit?.proc.logTail(20)}`);
    throw e;
  }
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  lab = await Lab.create('admin');
  g = await buildGatewayLab(lab);
  await lab.exec(g.ns.inet, ['ip', 'addr', 'add', '198.51.100.200/32', 'dev', 'lo']);
  const dht = await startLabDht(lab, g.ns.inet, { host: '198.51.100.200', nodes: 8, labRanges: LAB_RANGES });
  const discovery = { bootstrap: dht.bootstrap, lab_ranges: LAB_RANGES, lookup_interval: 1 };

  // The exit's owner made the network; its invite is what the household passes around.
  const exitDir = join(lab.tmpDir, 'exit-data');
  mkdirSync(exitDir);
  await cli(g.ns.exit, ['init', '--name', 'family', '--data', exitDir]);
  invite = (await cli(g.ns.exit, ['invite', '--data', exitDir])).match(/warren1:[a-z0-9]+/)?.[0] ?? '';
  exitKey = (await cli(g.ns.exit, ['pubkey'], readFileSync(join(exitDir, 'private.key'), 'utf8'))).trim();
  exit = await startWarren(lab, g.ns.exit, {
    name: 'exit', privateKeyPath: join(exitDir, 'private.key'), listenPort: EXIT_PORT, addresses: [], wire: 'native', env: { WARREN_LAB: '1' },
    sections: { network: { file: join(exitDir, 'network.toml') }, discovery, exit: { enabled: true, accept_risk: true, wan: 'wan0' } },
  });

  // The home appliance as flashed: a config naming a key and network file that do not exist yet.
  homeDir = join(lab.tmpDir, 'home-data');
  mkdirSync(homeDir);
  const config = {
    interface: { name: lab.ifname('wrn'), private_key_file: join(homeDir, 'private.key'), listen_port: HOME_PORT, wire: 'native' },
    network: { file: join(homeDir, 'network.toml') },
    discovery,
    control: { socket: join(lab.tmpDir, 'home.sock') },
    gateway: { lan: 'lan0', wan: 'wan0', exit: 'auto', dns_upstream: [ADDR.dns] },
    // The leak test asks the lab's web server, which answers with the address it sees.
    admin: { listen: 'lan', leak_test_url: `http://${ADDR.web}/` },
  };
  const configPath = join(lab.tmpDir, 'home.toml');
  writeFileSync(configPath, stringify(config), { mode: 0o600 });
  home = lab.spawn(g.ns.home, [WARREN, 'daemon', '--config', configPath], { log: 'warren-home', env: { WARREN_LAB: '1' } });
  await waitFor('the first-run admin on the LAN address', async () => {
    if (home.exitCode() !== null) throw new Error(`the home daemon exited ${home.exitCode()}:\n${home.logTail()}`);
    return (await lab.exec(g.ns.client, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${ADMIN}/`], { check: false })).stdout.trim() === '303';
  }, { timeoutMs: 30_000, intervalMs: 250 });

  // Chromium runs inside the LAN device's namespace, as a laptop on the home LAN would.
  const wrapper = join(lab.tmpDir, 'chromium-in-lan');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${g.ns.client} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  browser = await chromium.launch({ executablePath: wrapper, headless: true, args: ['--no-sandbox'] });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: ADMIN })).newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await lab?.cleanup();
});

describe('the appliance and its web admin', () => {
  test('first run: before a network exists only the admin runs, and refuses the WAN side', async () => {
    expect(existsSync(join(homeDir, 'network.toml'))).toBe(false);
    expect(home.logTail()).toContain('first run');
    // The admin listens on the LAN address only: from the WAN side (the home's router) nothing answers.
    expect((await lab.exec(g.ns.router, ['curl', '-s', '--max-time', '2', `http://${ADDR.homeWan}/`], { check: false })).code).not.toBe(0);
  });

  test('the wizard: a password, then joining with the invite; the daemon then brings the tunnel up', async () => {
    await step('wizard', async () => {
      await page.goto('/');
      await page.fill('input[name=password]', PASSWORD);
      await page.fill('input[name=confirm]', PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForURL('**/setup/network');
      await page.fill('textarea[name=invite]', invite);
      await page.click('text=Join network');
      await page.waitForURL((u) => u.pathname === '/', { timeout: 15_000 });
      expect(existsSync(join(homeDir, 'network.toml'))).toBe(true);
      await waitFor('the home daemon to start its tunnel', async () => home.logTail(80).includes(' up, listening on UDP'), { timeoutMs: 30_000, intervalMs: 250 });
    });
  }, 60_000);

  test('approving the exit in the admin (and the home on the exit) gets the LAN out through the exit', async () => {
    await step('approve', async () => {
      const homeKey = (await cli(g.ns.home, ['pubkey'], readFileSync(join(homeDir, 'private.key'), 'utf8'))).trim();
      await cli(g.ns.exit, ['approve', homeKey, '--data', join(lab.tmpDir, 'exit-data')]);
      // The home saw the exit's record and lists it as pending; the owner approves it in the admin.
      const exitRow = () => page.locator('.member', { has: page.locator(`code[title="${exitKey}"]`) });
      await waitFor('the exit to be pending on the network page', async () => {
        await page.goto('/network');
        return (await exitRow().count()) > 0;
      }, { timeoutMs: 30_000, intervalMs: 1000 });
      await exitRow().locator('button', { hasText: 'Approve' }).click();
      await page.locator('#members .notice.ok').waitFor({ timeout: 5_000 });
      const body = await waitFor('the LAN client to reach the web through the exit', async () => (await curlFrom(lab, g.ns.client, `http://${ADDR.web}/`)) ?? undefined, { timeoutMs: 40_000, intervalMs: 500 });
      expect(body).toBe(`client=${ADDR.exitPublic}`);
      await page.goto('/');
      await page.screenshot({ path: join(SHOTS, 'appliance-dashboard.png'), fullPage: true });
    });
  }, 90_000);

  test('the leak test on the dashboard: the internet sees the exit, DNS goes through the tunnel, the kill switch is there', async () => {
    await step('leak-test', async () => {
      await page.goto('/');
      await page.click('text=Check for leaks');
      await page.locator('#leak-result .notice').waitFor({ timeout: 15_000 });
      const text = await page.locator('#leak-result').innerText();
      console.log(`leak test: ${text.replace(/\s+/g, ' ')}`);
      expect(text).toContain('No leak found.');
      expect(text).toContain(`The internet sees ${ADDR.exitPublic}`);
      await page.screenshot({ path: join(SHOTS, 'appliance-leak-test.png'), fullPage: true });
    });
  }, 60_000);

  test("a device's policy set in the admin takes effect in the daemon: the TV is blocked", async () => {
    await step('policy', async () => {
      // The TV is on the LAN (it has talked to the appliance), so the admin lists it.
      await lab.exec(g.ns.tv, ['ping', '-c', '1', '-W', '1', ADDR.homeLan], { check: false });
      expect(await curlFrom(lab, g.ns.tv, `http://${ADDR.web}/`)).toBe(`client=${ADDR.exitPublic}`);
      const id = `#device-${MAC.tv.replace(/:/g, '')}`;
      await waitFor('the TV on the devices page', async () => {
        await page.goto('/devices');
        return (await page.locator(id).count()) > 0;
      }, { timeoutMs: 15_000, intervalMs: 1000 });
      await page.locator(id).locator('select[name=policy]').selectOption('block');
      await page.locator(id).locator('.notice.ok').waitFor({ timeout: 5_000 });
      await page.screenshot({ path: join(SHOTS, 'appliance-devices.png'), fullPage: true });
      // The daemon's firewall has it, and the TV reaches nothing; the client still goes out via the exit.
      expect((await lab.exec(g.ns.home, ['nft', 'list', 'set', 'inet', 'warren', 'block_mac'])).stdout).toContain(MAC.tv);
      expect(await curlFrom(lab, g.ns.tv, `http://${ADDR.web}/`, 2)).toBeNull();
      expect(await curlFrom(lab, g.ns.client, `http://${ADDR.web}/`)).toBe(`client=${ADDR.exitPublic}`);
      expect(JSON.parse(readFileSync(join(homeDir, 'settings.json'), 'utf8')).devices[MAC.tv].policy).toBe('block');
    });
  }, 60_000);

  test('the CLI talks to the same daemon: devices, exit, ping', async () => {
    const socket = join(lab.tmpDir, 'home.sock');
    const devices = JSON.parse(await cli(g.ns.home, ['devices', '--json', '--socket', socket])) as { mac: string; policy: string }[];
    expect(devices.find((d) => d.mac === MAC.tv)?.policy).toBe('block');
    const exitNow = JSON.parse(await cli(g.ns.home, ['exit', '--json', '--socket', socket])) as { inUse: { publicKey: string } | null; choice: string };
    expect(exitNow).toEqual({ inUse: expect.objectContaining({ publicKey: exitKey }), choice: 'best' });
    expect(JSON.parse(await cli(g.ns.home, ['exit', exitKey, '--json', '--socket', socket])).choice).toBe(exitKey);
    expect(JSON.parse(readFileSync(join(homeDir, 'settings.json'), 'utf8')).privacy.exit).toBe(exitKey);
    expect((await lab.exec(g.ns.home, [WARREN, 'exit', 'not-a-key', '--socket', socket], { check: false })).stderr).toContain('exit');
    const ping = await lab.exec(g.ns.home, [WARREN, 'ping', exitKey.slice(0, 8), '-c', '2', '--socket', socket], { check: false });
    expect(ping.code).toBe(0);
    expect(ping.stdout).toContain('2 received');
  }, 30_000);
});
