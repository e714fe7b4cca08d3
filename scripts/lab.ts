// The lab: a whole home network in namespaces, up until Ctrl-C (README's first command).
//
//   LAN devices (client, tv, blocked; no Warren) ── home appliance (gateway) ── home NAT router ──┐
//                                                                                                 inet: web server, DNS server, 8 DHT nodes
//   exit appliance (another home, with a LAN of its own; it also relays) ──────────────────────────┤
//   grandma's appliance ── her router (a symmetric NAT: no hole punching) ─────────────────────────┘
//
// The exit runs `warren init`, the home `warren join` with its invite, and each approves the
// other; neither config names the other: they meet on the lab's own DHT (encrypted, signed
// records), the home picks the member that offers an exit, and every LAN device's traffic leaves
// from the exit's address. Nothing here touches the root namespace's routes, rules or nftables;
// Ctrl-C (or SIGTERM) stops every process by PID and deletes the namespaces.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, waitFor } from '../test/netns/lib/netns.ts';
import { startWarren, type WarrenNode } from '../test/netns/lib/warren.ts';
import { startLabDht } from '../test/netns/lib/dht-lab.ts';
import { ADDR, EXIT_PORT, HOME_PORT, MAC, buildGatewayLab, curlFrom } from '../test/netns/lib/gateway-lab.ts';
import { WARREN } from '../test/netns/lib/homes.ts';

const DHT_HOST = '198.51.100.200';
const LAB_RANGES = ['203.0.113.0/24', '198.51.100.0/24', '10.0.0.0/24', '192.168.0.0/16'];

const lab = await Lab.create('lab');
const g = await buildGatewayLab(lab);
await lab.exec(g.ns.inet, ['ip', 'addr', 'add', `${DHT_HOST}/32`, 'dev', 'lo']);
const dht = await startLabDht(lab, g.ns.inet, { host: DHT_HOST, nodes: 8, labRanges: LAB_RANGES });

// The household: the exit's owner creates the network, the home joins with the invite.
const cli = async (ns: string, args: string[], stdin?: string) => (await lab.exec(ns, [WARREN, ...args], { stdin })).stdout;
const dirExit = join(lab.tmpDir, 'exit-data');
const dirHome = join(lab.tmpDir, 'home-data');
const dirGran = join(lab.tmpDir, 'grandma-data');
mkdirSync(dirExit);
mkdirSync(dirHome);
mkdirSync(dirGran);
// Grandma's home: behind a router that gives every destination a new random port.
const nsGranRouter = await lab.ns('granrouter');
const nsGran = await lab.ns('grandma');
await lab.veth(nsGranRouter, g.ns.inet, { a: '203.0.113.50/28', b: '203.0.113.49/28', nameA: 'wan0' });
await lab.veth(nsGran, nsGranRouter, { a: '10.0.3.2/24', b: '10.0.3.1/24' });
await lab.exec(nsGranRouter, ['ip', 'route', 'add', 'default', 'via', '203.0.113.49']);
await lab.exec(nsGran, ['ip', 'route', 'add', 'default', 'via', '10.0.3.1']);
await lab.exec(nsGranRouter, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
await lab.exec(nsGranRouter, ['nft', '-f', '-'], { stdin: 'table ip homenat {\n  chain post {\n    type nat hook postrouting priority 100; policy accept;\n    oifname "wan0" masquerade random\n  }\n}\n' });
await cli(g.ns.exit, ['init', '--name', 'family', '--data', dirExit]);
const invite = (await cli(g.ns.exit, ['invite', '--data', dirExit])).match(/warren1:[a-z0-9]+/)?.[0] ?? '';
await cli(g.ns.home, ['join', invite, '--data', dirHome]);
await cli(nsGran, ['join', invite, '--data', dirGran]);
const keyOf = async (ns: string, dir: string) => (await cli(ns, ['pubkey'], await Bun.file(join(dir, 'private.key')).text())).trim();
const [keyExit, keyHome, keyGran] = [await keyOf(g.ns.exit, dirExit), await keyOf(g.ns.home, dirHome), await keyOf(nsGran, dirGran)];
const household: [string, string, string][] = [[g.ns.exit, dirExit, keyExit], [g.ns.home, dirHome, keyHome], [nsGran, dirGran, keyGran]];
for (const [ns, dir, own] of household) for (const [, , key] of household) if (key !== own) await cli(ns, ['approve', key, '--data', dir]);

const discovery = { bootstrap: dht.bootstrap, lab_ranges: LAB_RANGES, lookup_interval: 2 };
const env = { WARREN_LAB: '1' };
const exit = await startWarren(lab, g.ns.exit, {
  name: 'exit', privateKeyPath: join(dirExit, 'private.key'), listenPort: EXIT_PORT, addresses: [], wire: 'native', env,
  interfaceExtra: { advertise: ['192.168.50.0/24'] }, // its LAN, shared with the members (site-to-site)
  sections: { network: { file: join(dirExit, 'network.toml') }, discovery, exit: { enabled: true, accept_risk: true, wan: 'wan0' }, relay: { enabled: true } },
});
const grandma = await startWarren(lab, nsGran, {
  name: 'grandma', privateKeyPath: join(dirGran, 'private.key'), listenPort: 41003, addresses: [], wire: 'native', env,
  sections: { network: { file: join(dirGran, 'network.toml') }, discovery },
});
const home = await startWarren(lab, g.ns.home, {
  name: 'home', privateKeyPath: join(dirHome, 'private.key'), listenPort: HOME_PORT, addresses: [], wire: 'native', env,
  sections: {
    network: { file: join(dirHome, 'network.toml') },
    discovery,
    gateway: {
      lan: 'lan0', wan: 'wan0', exit: 'auto', dns_upstream: [ADDR.dns],
      device: [{ name: 'tv', mac: MAC.tv, policy: 'direct' }, { name: 'blocked', mac: MAC.blocked, policy: 'block' }],
    },
  },
});
await waitFor('the LAN client to reach the web through the exit', async () => (await curlFrom(lab, g.ns.client, `http://${ADDR.web}/`)) === `client=${ADDR.exitPublic}`, { timeoutMs: 60_000, intervalMs: 500 });
const homeOverlay = (((await home.status()).interfaceAddresses as string[] | undefined)?.[0] ?? '').split('/')[0];
const granOverlay = (((await grandma.status()).interfaceAddresses as string[] | undefined)?.[0] ?? '').split('/')[0];
await waitFor("the home to reach grandma's appliance (through the exit's relay)", async () => (await lab.exec(g.ns.home, ['ping', '-c', '1', '-W', '1', granOverlay ?? ''], { check: false })).code === 0, { timeoutMs: 60_000, intervalMs: 500 });
await waitFor("the exit's shared LAN to be reachable from the home's LAN", async () => (await curlFrom(lab, g.ns.client, `http://${ADDR.exitLanHost}/`)) === `client=${homeOverlay}`, { timeoutMs: 30_000, intervalMs: 500 });

const ex = (ns: string) => `ip netns exec ${ns}`;
console.log(`
Warren lab is up: a home whose appliance routes every LAN device through an exit appliance in
another home. They met on the lab's own DHT, given only an invite.

  LAN client  ${g.ns.client} (${ADDR.client}, no Warren installed)
  home        ${g.ns.home} (LAN lan0 ${ADDR.homeLan}, WAN wan0 ${ADDR.homeWan}, behind NAT router ${g.ns.router} = ${ADDR.routerPublic})
  exit        ${g.ns.exit} (public ${ADDR.exitPublic}; it relays for members that cannot meet directly)
  grandma     ${nsGran} (overlay ${granOverlay}, behind ${nsGranRouter}: a symmetric NAT, so only through the relay)
  internet    ${g.ns.inet} (web ${ADDR.web}, DNS ${ADDR.dns}, DHT ${DHT_HOST})
  invite      ${invite}

Try, in another terminal (as root):
  ${ex(g.ns.client)} curl -s http://${ADDR.web}/    # expect: client=${ADDR.exitPublic} (the exit, not the home's ${ADDR.routerPublic})
  ${ex(g.ns.tv)} curl -s http://${ADDR.web}/    # expect: client=${ADDR.routerPublic} (the tv is set to "direct")
  ${ex(g.ns.client)} curl -s http://${ADDR.exitLanHost}/    # expect: client=${homeOverlay} (a host on the exit's LAN, shared site-to-site)
  ${ex(g.ns.client)} dig +short @${ADDR.hardcodedDns} example.test    # a hard-coded resolver: answered through the exit
  ${ex(g.ns.home)} ping ${granOverlay}    # grandma's appliance, through the exit's relay
  ${ex(g.ns.home)} ${WARREN} peers --socket ${home.socketPath}    # grandma's path: relay
  tail -f ${g.dnsLog}    # who asked the internet's DNS: only ${ADDR.exitPublic}
  ${ex(g.ns.home)} ${WARREN} status --socket ${home.socketPath}
  ${ex(g.ns.home)} ${WARREN} status --json --socket ${home.socketPath}
  ${ex(g.ns.home)} tcpdump -ni wan0    # the home's WAN: random-looking UDP only

Logs: ${lab.artifactsDir}

Ctrl-C stops the appliances and the DHT and removes the namespaces.`);

// Stay up; the Lab's SIGINT/SIGTERM handlers clean up and exit. An appliance that dies ends the lab.
const nodes: [string, WarrenNode][] = [['home', home], ['exit', exit], ['grandma', grandma]];
const died = await Promise.race(nodes.map(([name, n]) => n.proc.exited.then((c) => [name, c, n] as const)));
console.error(`appliance ${died[0]} exited with ${died[1]}; log tail:\n${died[2].proc.logTail()}`);
await lab.cleanup();
process.exit(1);
