// Loading the TOML config file: parse errors carry line and column, validation errors the field.

import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, DEFAULT_CONTROL_SOCKET, parseAdmin, validateConfig, type Config } from './schema.ts';

export function parseConfigText(text: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Config {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    if (e instanceof TomlError) throw new ConfigError(`line ${e.line} column ${e.column}`, e.message.split('\n')[0] ?? 'not valid TOML');
    throw e;
  }
  return validateConfig(doc, readFile);
}

export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, `cannot read the config file: ${(e as Error).message}`);
  }
  return parseConfigText(text);
}

/**
 * What a first run needs before a network exists: the config names a network file (and the
 * key beside it) that `warren init`/`join` — or the web admin's first-run wizard — will create.
 * null when the config is complete (or broken for another reason: loadConfigFile says why).
 */
export interface FirstRun {
  /** Where network.toml and private.key will be. */
  dataDir: string;
  networkFile: string;
  controlSocket: string;
  lan: string | null;
  admin: { listen: string | null; leakTestUrl: string };
}

export function firstRunOf(path: string): FirstRun | null {
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  const section = (k: string) => (typeof doc[k] === 'object' && doc[k] !== null ? (doc[k] as Record<string, unknown>) : {});
  const file = section('network').file;
  if (typeof file !== 'string' || existsSync(file)) return null;
  const socket = section('control').socket;
  const lan = section('gateway').lan;
  return {
    dataDir: dirname(file),
    networkFile: file,
    controlSocket: typeof socket === 'string' ? socket : DEFAULT_CONTROL_SOCKET,
    lan: typeof lan === 'string' ? lan : null,
    admin: parseAdmin(doc.admin, doc.gateway !== undefined),
  };
}
