// `warren` — the one entry point. Subcommands parse their own flags with node:util parseArgs.

import { parseArgs } from 'node:util';
import { generatePrivateKey, publicKeyOf } from '../noise/crypto.ts';
import { ConfigError, decodeKey, encodeKey, DEFAULT_CONTROL_SOCKET } from '../config/schema.ts';
import { loadConfigFile } from '../config/load.ts';
import { queryControl } from '../control/server.ts';
import { printPeers, printStatus } from './status.ts';
import { printChecks, runChecks, systemProbes } from './doctor.ts';
import { NETWORK_USAGE, runNetworkCommand } from './network.ts';

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
