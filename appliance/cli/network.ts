// `warren init | invite | join | members | approve | deny | revoke | rotate`: the network file in
// the data directory, edited offline (these commands do not talk to a running daemon; it follows
// the file).
//
// Exit codes: 0 done, 1 the command failed (message on stderr), 2 bad usage or a malformed invite.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assignAddresses, ulaPrefix } from '../network/addresses.ts';
import { decodeInvite, encodeInvite, inviteQr, InviteError } from '../network/invite.ts';
import { DEFAULT_DATA_DIR, initNetwork, joinInvite, keyPathOf, ownPublicKey, prepareDir } from '../network/setup.ts';
import {
  approve,
  deny,
  findMember,
  loadNetwork,
  MEMBER_LISTS,
  NETWORK_FILE,
  NetworkStoreError,
  PRIVATE_KEY_FILE,
  revoke,
  rotateNetwork,
  DEFAULT_ROTATION_GRACE_MS,
  MAX_ROTATION_GRACE_MS,
  updateNetwork,
  type Network,
} from '../network/store.ts';

export { DEFAULT_DATA_DIR };
export const NETWORK_COMMANDS = ['init', 'invite', 'join', 'members', 'approve', 'deny', 'revoke', 'rotate'] as const;
export type NetworkCommand = (typeof NETWORK_COMMANDS)[number];

export const NETWORK_USAGE = `  init --name NAME [--data DIR]
                             create a network (and this node's key), print its invite
  invite [--data DIR]        print the network's invite and its QR code
  join INVITE [--data DIR]   join the network an invite carries
  members [--data DIR]       list approved, pending and revoked devices
  approve KEY [--name NAME] [--data DIR]
  deny KEY [--data DIR]
  revoke KEY [--data DIR]    approve a device, refuse its request, or remove it
                             (KEY: a public key, or the start of a listed one)
  rotate [--grace-hours H] [--data DIR]
                             a new network secret (after an invite leaked): members
                             online are given it, the old one is accepted for H hours
                             (default ${DEFAULT_ROTATION_GRACE_MS / 3600_000}; 0: only the 20 s it takes to hand it
                             over) for members that were away; old invites stop working
                             --data defaults to ${DEFAULT_DATA_DIR}`;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const STD_IO: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

const b64 = (key: Uint8Array) => Buffer.from(key).toString('base64');

class Usage extends Error {}

/** Runs one of NETWORK_COMMANDS; returns the exit code. Store errors are thrown for main's handler. */
export async function runNetworkCommand(cmd: NetworkCommand, args: string[], io: Io = STD_IO): Promise<number> {
  try {
    return await dispatch(cmd, args, io);
  } catch (e) {
    if (e instanceof Usage || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`warren ${cmd}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof InviteError) {
      io.err(`warren: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function flags(args: string[], options: { name?: boolean; grace?: boolean }) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: { type: 'string', short: 'd' },
      ...(options.name ? { name: { type: 'string', short: 'n' } } : {}),
      ...(options.grace ? { 'grace-hours': { type: 'string' } } : {}),
    },
  });
  const v = values as { data?: string; name?: string; 'grace-hours'?: string };
  return { dir: v.data ?? DEFAULT_DATA_DIR, name: v.name, grace: v['grace-hours'], positionals };
}

async function dispatch(cmd: NetworkCommand, args: string[], io: Io): Promise<number> {
  switch (cmd) {
    case 'init': {
      const { dir, name, positionals } = flags(args, { name: true });
      if (!name || positionals.length) throw new Usage('usage: warren init --name NAME [--data DIR]');
      return init(dir, name, io);
    }
    case 'invite': {
      const { dir, positionals } = flags(args, {});
      if (positionals.length) throw new Usage('usage: warren invite [--data DIR]');
      const net = loadNetwork(join(dir, NETWORK_FILE));
      const text = encodeInvite(net.name, net.secret, net.addressSecret);
      io.out(`invite to network "${net.name}" — it carries the network secret, share it only with devices you trust:\n${text}\n\n`);
      io.out(await inviteQr(text, process.stdout.isTTY ? 'terminal' : 'utf8'));
      io.out('\n');
      return 0;
    }
    case 'join': {
      const { dir, positionals } = flags(args, {});
      if (positionals.length !== 1) throw new Usage('usage: warren join INVITE [--data DIR] (quote the invite if it contains spaces)');
      return joinNetwork(dir, positionals[0] as string, io);
    }
    case 'members': {
      const { dir, positionals } = flags(args, {});
      if (positionals.length) throw new Usage('usage: warren members [--data DIR]');
      printMembers(dir, io);
      return 0;
    }
    case 'approve':
    case 'deny':
    case 'revoke': {
      const { dir, name, positionals } = flags(args, { name: cmd === 'approve' });
      if (positionals.length !== 1) throw new Usage(`usage: warren ${cmd} KEY [--data DIR]`);
      return changeMember(cmd, dir, positionals[0] as string, name, io);
    }
    case 'rotate': {
      const { dir, grace, positionals } = flags(args, { grace: true });
      if (positionals.length) throw new Usage('usage: warren rotate [--grace-hours H] [--data DIR]');
      const hours = grace === undefined ? DEFAULT_ROTATION_GRACE_MS / 3600_000 : Number(grace);
      if (grace !== undefined && (!/^\d+(\.\d+)?$/.test(grace.trim()) || hours * 3600_000 > MAX_ROTATION_GRACE_MS)) {
        throw new Usage(`--grace-hours: expected a number of hours from 0 to ${MAX_ROTATION_GRACE_MS / 3600_000}, got "${grace}"`);
      }
      return rotate(dir, hours, io);
    }
  }
}

function rotate(dir: string, hours: number, io: Io): number {
  const path = join(dir, NETWORK_FILE);
  const net = updateNetwork(path, (current) => rotateNetwork(current, new Date(), hours * 3600_000));
  io.out(`network "${net.name}" has a new secret (generation ${net.generation}).\n`);
  io.out(hours > 0
    ? `The old secret is accepted until ${net.previous!.until.toISOString()}: members that were away get the new one when they come back.\n`
    : `Members online are given the new secret within seconds; after ${net.previous!.until.toISOString()} the old one is no longer accepted and members that were away need the new invite.\n`);
  io.out('A running Warren here hands the new secret to the members it reaches; old invites no longer work.\n');
  io.out(`New invite — it carries the network secret, share it only with devices you trust:\n${encodeInvite(net.name, net.secret, net.addressSecret)}\n`);
  return 0;
}

function addressesLine(net: Network, key: Uint8Array): string {
  const members = net.approved.map((m) => new Uint8Array(Buffer.from(m.key, 'base64')));
  const a = assignAddresses(key, members, net.addressSecret);
  return `${a.ipv4}  ${a.ipv6}`;
}

function init(dir: string, name: string, io: Io): number {
  const path = prepareDir(dir);
  if (existsSync(path)) {
    const old = loadNetwork(path);
    throw new NetworkStoreError('write', `${dir} already holds network "${old.name}"; use another --data directory, or remove ${path} first`);
  }
  const { network: net, publicKey, createdKey } = initNetwork(dir, name);
  io.out(`created network "${net.name}" in ${path}${createdKey ? ` (new key ${join(dir, PRIVATE_KEY_FILE)})` : ''}\n`);
  io.out(`this node: ${b64(publicKey)}  ${addressesLine(net, publicKey)}\n\n`);
  io.out(`invite — it carries the network secret, share it only with devices you trust:\n${encodeInvite(net.name, net.secret, net.addressSecret)}\n`);
  io.out('(`warren invite` shows it as a QR code)\n');
  return 0;
}

function joinNetwork(dir: string, text: string, io: Io): number {
  const invite = decodeInvite(text); // before touching the disk: a bad invite changes nothing
  const path = prepareDir(dir);
  if (existsSync(path)) {
    const old = loadNetwork(path);
    if (Buffer.from(old.secret).equals(Buffer.from(invite.secret))) {
      io.out(`already a member of network "${old.name}" (${path})\n`);
      return 0;
    }
    throw new NetworkStoreError('write', `${dir} already holds network "${old.name}"; to join "${invite.name}" instead, remove ${path} first`);
  }
  const { network: net, publicKey } = joinInvite(dir, invite);
  io.out(`joined network "${net.name}" (${path})\n`);
  io.out(`this node: ${b64(publicKey)}  ${addressesLine(net, publicKey)}\n`);
  io.out(`the network's IPv6 prefix is ${ulaPrefix(net.addressSecret)}; if members there require approval, run on one of them:\n  warren approve ${b64(publicKey)}\n`);
  return 0;
}

function printMembers(dir: string, io: Io): void {
  const net = loadNetwork(join(dir, NETWORK_FILE));
  io.out(`network "${net.name}"  ${net.requireApproval ? 'new devices need approval' : 'new devices are approved automatically'}\n`);
  for (const list of MEMBER_LISTS) {
    io.out(`\n${list} (${net[list].length})\n`);
    for (const m of net[list]) {
      const addr = list === 'approved' ? `  ${addressesLine(net, new Uint8Array(Buffer.from(m.key, 'base64')))}` : '';
      io.out(`  ${m.key}  ${printable(m.name) || '(no name)'}  since ${m.since.toISOString()}${addr}\n`);
    }
  }
}

/** Member names may come from other devices: control characters would reach the terminal. */
export function printable(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** A full key, or the start (4+ characters) of exactly one key listed in the network file. */
function resolveKey(net: Network, text: string): string {
  const t = text.trim();
  if (/^[A-Za-z0-9+/]{43}=$/.test(t)) return t;
  if (t.length < 4) throw new Usage(`"${t}" is too short: give the public key, or at least its first 4 characters`);
  const all = MEMBER_LISTS.flatMap((l) => net[l]).filter((m) => m.key.startsWith(t));
  if (all.length === 1) return (all[0] as { key: string }).key;
  if (all.length === 0) throw new Usage(`no listed key starts with "${t}" (see \`warren members\`); to act on a new device give its whole key`);
  throw new Usage(`"${t}" matches ${all.length} keys; give more of it`);
}

function changeMember(cmd: 'approve' | 'deny' | 'revoke', dir: string, keyText: string, name: string | undefined, io: Io): number {
  const path = join(dir, NETWORK_FILE);
  const net = loadNetwork(path);
  const key = resolveKey(net, keyText);
  const self = ownPublicKey(keyPathOf(dir, net));
  if (self && key === b64(self) && cmd !== 'approve') throw new NetworkStoreError('invalid-argument', `${key} is this node's own key; it cannot ${cmd} itself`);
  const now = new Date();
  // Against the file as it is at the moment of writing, under its lock: the daemon may be
  // recording a new device in it right now (store.ts updateNetwork).
  let unchanged = false;
  const next = updateNetwork(path, (current) => {
    const n = cmd === 'approve' ? approve(current, key, now, name) : cmd === 'deny' ? deny(current, key, now) : revoke(current, key, now);
    unchanged = n === current;
    return n;
  });
  if (unchanged) {
    io.out(`${key} is already ${cmd === 'approve' ? 'approved' : 'revoked'}\n`);
    return 0;
  }
  const label = printable(findMember(next, key)?.member.name ?? '') || key;
  io.out(`${cmd === 'approve' ? 'approved' : cmd === 'deny' ? 'denied' : 'revoked'} ${label}${label === key ? '' : ` (${key})`}\n`);
  return 0;
}

