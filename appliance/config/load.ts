// Loading the TOML config file: parse errors carry line and column, validation errors the field.

import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { ConfigError, validateConfig, type Config } from './schema.ts';

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
