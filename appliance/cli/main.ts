// `warren` — the one entry point. Subcommands parse their own flags with node:util parseArgs.

import { parseArgs } from 'node:util';
import { generatePrivateKey, publicKeyOf } from '../noise/crypto.ts';
import { ConfigError, decodeKey, encodeKey, DEFAULT_CONTROL_SOCKET } from '../config/schema.ts';
import { loadConfigFile } from '../config/load.ts';
import { queryControl } from '../control/server.ts';
import { printPeers, printStatus } from './status.ts';
import { printChecks, runChecks, systemProbes } from './doctor.ts';
import { NETWORK_USAGE, printable, runNetworkCommand } from './network.ts';

const USAGE = `usage: warren <command> [options]

commands:
  genkey                     print a new private key (base64)
  gensecret                  print a new network secret (base64, 32 random bytes)
  pubkey                     read a private key on stdin, print its public key
  daemon --config FILE       run the appliance with the TOML config FILE
  status [--json] [--socket PATH]
                             show the running daemon's state
  peers [--json] [--socket PATH]
                             the running daemon's peers: endpoint, handshake, traffic
  devices [--json] [--socket PATH]
                             the LAN's devices (MAC, IP, name) and their policy
  exit [best|KEY] [--json] [--socket PATH]
                             the exit in use; with an argument, choose it ("best": Warren picks)
  ping PEER [-c N] [--socket PATH]
                             ping a peer (name, or the start of its key) through the tunnel
  down --config FILE         stop the daemon and remove its firewall table, rules and routes
                             (a kill switch set to "always" stays)
  doctor [--json] [--socket PATH]
                             check the system (TUN, CAP_NET_ADMIN, ip, nft, libsodium) and
                             whether the daemon answers; says what to fix
${NETWORK_USAGE}
  help                       this text`;

class UsageError extends Error {}


async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'genkey':
      process.stdout.write(`${encodeKey(generatePrivateKey())}\n`);
      return 0;
    case 'gensecret':
      process.stdout.write(`${encodeKey(crypto.getRandomValues(new Uint8Array(32)))}\n`);
      return 0;
    case 'pubkey': {
      const text = await Bun.stdin.text();
      let key: Uint8Array;
      try {
        key = decodeKey(text, 'stdin');
      } catch {
        throw new UsageError('pubkey reads a private key on stdin: 44 characters of base64, as `warren genkey` prints');
      }
      process.stdout.write(`${encodeKey(publicKeyOf(key))}\n`);
      return 0;
    }
    case 'daemon': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
      if (!values.config) throw new UsageError('daemon needs --config FILE');
      const { runAppliance } = await import('./appliance.ts');
      await runAppliance(values.config);
      return -1; // keeps running until a signal
    }
    case 'status': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, socket: { type: 'string' } } });
      const status = await queryControl(values.socket ?? DEFAULT_CONTROL_SOCKET, 'status');
      if (values.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else printStatus(status);
      return 0;
    }
    case 'devices': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, socket: { type: 'string' } } });
      const devices = (await queryControl(values.socket ?? DEFAULT_CONTROL_SOCKET, 'devices')) as { mac: string; ip: string; hostname: string | null; policy: string }[];
      if (values.json) process.stdout.write(`${JSON.stringify(devices, null, 2)}\n`);
      else if (devices.length === 0) process.stdout.write('no LAN device seen yet\n');
      else for (const d of devices) process.stdout.write(`${d.mac}  ${(d.ip || '-').padEnd(15)}  ${d.policy.padEnd(7)}  ${printable(d.hostname ?? '')}\n`);
      return 0;
    }
    case 'exit': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, socket: { type: 'string' } } });
      const socket = values.socket ?? DEFAULT_CONTROL_SOCKET;
      if (positionals.length > 1) throw new UsageError('usage: warren exit [best|KEY]');
      if (positionals[0] !== undefined) await queryControl(socket, 'exit', 'POST', { exit: positionals[0] });
      const exit = (await queryControl(socket, 'exit')) as { inUse: { name: string; publicKey: string } | null; choice: string };
      if (values.json) process.stdout.write(`${JSON.stringify(exit, null, 2)}\n`);
      else process.stdout.write(`exit in use: ${exit.inUse ? `${printable(exit.inUse.name)} (${exit.inUse.publicKey})` : 'none'}; choice: ${exit.choice}\n`);
      return 0;
    }
    case 'ping': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { count: { type: 'string', short: 'c' }, socket: { type: 'string' } } });
      const want = positionals[0];
      if (!want || positionals.length > 1) throw new UsageError('usage: warren ping PEER [-c N] (PEER: its name or the start of its key)');
      const status = (await queryControl(values.socket ?? DEFAULT_CONTROL_SOCKET, 'status')) as { peers: { name: string; publicKey: string; allowedIps: string[] }[] };
      const found = status.peers.filter((p) => p.name === want || (want.length >= 4 && p.publicKey.startsWith(want)));
      if (found.length !== 1) throw new UsageError(found.length === 0 ? `no peer "${want}" (see \`warren peers\`)` : `"${want}" matches ${found.length} peers; give more of the key`);
      const address = found[0]!.allowedIps.map((a) => a.split('/')[0]!).find((a) => a.includes('.'));
      if (!address) throw new UsageError(`peer "${want}" has no IPv4 overlay address to ping`);
      const count = values.count ?? '3';
      if (!/^\d{1,4}$/.test(count)) throw new UsageError('-c takes a number of pings');
      const p = Bun.spawn(['ping', '-c', count, address], { stdout: 'inherit', stderr: 'inherit' });
      return await p.exited;
    }
    case 'down': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
      if (!values.config) throw new UsageError('down needs --config FILE (the one the daemon runs with)');
      const { warrenDown } = await import('./down.ts');
      return warrenDown(loadConfigFile(values.config));
    }
    case 'init':
    case 'invite':
    case 'join':
    case 'members':
    case 'approve':
    case 'deny':
    case 'revoke':
    case 'rotate':
      return runNetworkCommand(cmd, rest);
    case 'peers': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, socket: { type: 'string' } } });
      const status = (await queryControl(values.socket ?? DEFAULT_CONTROL_SOCKET, 'status')) as { peers: unknown[] };
      if (values.json) process.stdout.write(`${JSON.stringify(status.peers, null, 2)}\n`);
      else printPeers(status.peers);
      return 0;
    }
    case 'doctor': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, socket: { type: 'string' } } });
      const checks = runChecks(systemProbes);
      if (values.socket !== undefined) {
        const socket = values.socket;
        const reached = await queryControl(socket, 'status').then(() => true, () => false);
        checks.push({ name: 'daemon', ok: reached, detail: reached ? `answers on ${socket}` : `no answer on ${socket}`, fix: 'start it: warren daemon --config FILE (and check its log)' });
      }
      if (values.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      else printChecks(checks);
      return checks.every((c) => c.ok) ? 0 : 1;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return cmd === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    if (e instanceof UsageError) process.stderr.write(`warren: ${e.message}\n${USAGE}\n`);
    else if (e instanceof ConfigError) process.stderr.write(`warren: ${e.message}\n`);
    else if (e instanceof Error && 'kind' in e) process.stderr.write(`warren: ${e.message}\n`);
    else if (e instanceof Error && e.name === 'TypeError' && e.message.includes('parseArgs')) process.stderr.write(`warren: ${e.message}\n`);
    else process.stderr.write(`warren: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
