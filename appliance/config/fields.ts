// Field readers for config validation: each names the field at fault in its error.

import { parsePrefix, type Prefix } from '../dataplane/packet/addr.ts';

export class ConfigError extends Error {
  readonly kind = 'config';
  constructor(readonly field: string, readonly reason: string) {
    super(`config: ${field}: ${reason}`);
  }
}

/** A Linux interface name. */
export const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export type Table = Record<string, unknown>;

export function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function table(v: unknown, field: string): Table {
  if (!isTable(v)) throw new ConfigError(field, 'expected a table');
  return v;
}

export function rejectUnknown(t: Table, field: string, known: readonly string[]): void {
  for (const k of Object.keys(t)) {
    if (!known.includes(k)) {
      throw new ConfigError(field ? `${field}.${k}` : k, `unknown setting (known: ${known.join(', ')})`);
    }
  }
}

export function str(t: Table, key: string, field: string, dflt?: string): string {
  const v = t[key];
  if (v === undefined) {
    if (dflt !== undefined) return dflt;
    throw new ConfigError(`${field}.${key}`, 'is required');
  }
  if (typeof v !== 'string') throw new ConfigError(`${field}.${key}`, 'expected a string');
  return v;
}

export function int(t: Table, key: string, field: string, dflt: number, min: number, max: number): number {
  const v = t[key];
  if (v === undefined) return dflt;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${field}.${key}`, `expected a whole number from ${min} to ${max}`);
  }
  return n;
}

export function strList(t: Table, key: string, field: string): string[] {
  const v = t[key];
  if (v === undefined) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new ConfigError(`${field}.${key}`, 'expected a list of strings');
  }
  return list as string[];
}


export function prefixes(list: string[], field: string): Prefix[] {
  return list.map((s, i) => {
    const p = parsePrefix(s);
    if (!p) throw new ConfigError(`${field}[${i}]`, `"${s}" is not an address with prefix length like 10.0.0.1/24 or fd00::1/64`);
    return p;
  });
}
