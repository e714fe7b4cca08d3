/** Test helpers: hex codecs and loading the JSON vectors in test/vectors/noise/. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const VECTOR_DIR = join(import.meta.dir, '..', '..', 'vectors', 'noise');

export function loadVector(name: string): unknown {
  return JSON.parse(readFileSync(join(VECTOR_DIR, name), 'utf8'));
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) throw new Error(`not hex: ${hex.slice(0, 16)}…`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
