// Setting a node up in a network: its key (`private.key`) and its network file (`network.toml`)
// in the data directory. `warren init` / `warren join` (cli/network.ts) and the web admin's first
// run (admin/daemon-api.ts) both come through here, so a network made either way is the same:
// a fresh key when there is none (mode 0600), the node approving itself under its host name.
//
// Callers check for an existing network first (each words the refusal for its own audience);
// `setUpNetwork` refuses again itself, so nothing ever overwrites a network file.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { generatePrivateKey, publicKeyOf } from '../noise/crypto.ts';
import type { Invite } from './invite.ts';
import { approve, checkKeyText, createNetwork, loadNetwork, NETWORK_FILE, NetworkStoreError, PRIVATE_KEY_FILE, saveNetwork, writeFileAtomic, type Network } from './store.ts';

/** Where a node keeps its key, network file and settings unless told otherwise. */
export const DEFAULT_DATA_DIR = '/var/lib/warren';

const b64 = (key: Uint8Array) => Buffer.from(key).toString('base64');

export interface NodeSetup {
  /** The network file written. */
  path: string;
  network: Network;
  publicKey: Uint8Array;
  /** Whether this call created the node's key (false: an existing key was kept). */
  createdKey: boolean;
}

export interface SetupOptions {
  now?: Date;
  /** The name this node approves itself under (default: the host name). */
  selfName?: string;
}

export function networkFilePath(dir: string): string {
  return join(dir, NETWORK_FILE);
}

/** The node's private key file named by a network file in `dir`. */
export function keyPathOf(dir: string, net: Network): string {
  return isAbsolute(net.keyFile) ? net.keyFile : join(dir, net.keyFile);
}

/** This node's public key, from the private key file; null when there is none. */
export function ownPublicKey(path: string): Uint8Array | null {
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new NetworkStoreError('read', `cannot read this node's key ${path}: ${(e as Error).message}`);
  }
  let key: string;
  try {
    key = checkKeyText(text, path);
  } catch {
    throw new NetworkStoreError('read', `${path} is not a private key (expected 44 characters of base64, as \`warren genkey\` prints)`);
  }
  const bytes = new Uint8Array(Buffer.from(key, 'base64'));
  const publicKey = publicKeyOf(bytes);
  bytes.fill(0);
  return publicKey;
}

/** This node's key in the data directory, created (mode 0600) when missing. */
export function ensureKey(dir: string): { publicKey: Uint8Array; created: boolean } {
  const path = join(dir, PRIVATE_KEY_FILE);
  const existing = ownPublicKey(path);
  if (existing) return { publicKey: existing, created: false };
  const key = generatePrivateKey();
  writeFileAtomic(path, `${b64(key)}\n`);
  const publicKey = publicKeyOf(key);
  key.fill(0);
  return { publicKey, created: true };
}

/** Creates the data directory (mode 0700) when missing; returns the network file's path in it. */
export function prepareDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return networkFilePath(dir);
}

/** The network in `dir`, or null when there is no network file (a bad file throws). */
export function existingNetwork(dir: string): Network | null {
  const path = networkFilePath(dir);
  return existsSync(path) ? loadNetwork(path) : null;
}

/**
 * Writes a new network file in `dir` for `name` and `secret` (a fresh one when null), with this
 * node's key created when missing and approved in it. Refuses (kind 'exists') when `dir` already
 * holds a network.
 */
export function setUpNetwork(dir: string, name: string, secret: Uint8Array | null, opts: SetupOptions = {}, addressSecret?: Uint8Array): NodeSetup {
  const path = prepareDir(dir);
  if (existsSync(path)) throw new NetworkStoreError('exists', `${dir} already holds a network (${path})`);
  const made = secret ? createNetwork(name, () => secret.slice()) : createNetwork(name);
  const fresh = addressSecret ? { ...made, addressSecret: addressSecret.slice() } : made;
  const { publicKey, created } = ensureKey(dir);
  const network = approve(fresh, b64(publicKey), opts.now ?? new Date(), opts.selfName ?? hostname());
  saveNetwork(path, network);
  return { path, network, publicKey, createdKey: created };
}

/** `warren init`: a new network with a fresh secret. */
export function initNetwork(dir: string, name: string, opts: SetupOptions = {}): NodeSetup {
  return setUpNetwork(dir, name, null, opts);
}

/** `warren join`: the network an invite carries (decoded by the caller, before anything is written). */
export function joinInvite(dir: string, invite: Invite, opts: SetupOptions = {}): NodeSetup {
  return setUpNetwork(dir, invite.name, invite.secret, opts, invite.addressSecret);
}
