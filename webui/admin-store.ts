// The admin password, hashed with argon2id (Bun.password), kept in `stateDir/admin.json` with
// mode 0600. Written atomically: a temporary file in the same directory is written, fsynced and
// renamed over the old one, then the directory is fsynced, so a power cut leaves either the old
// password or the new one, never half a file.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export const ADMIN_FILE = 'admin.json';
/** Shorter passwords are refused; longer ones are cut by nobody (argon2 takes any length). */
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;

interface AdminFile {
  version: 1;
  passwordHash: string;
  changedAt: string;
}

function isAdminFile(v: unknown): v is AdminFile {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o.version === 1 && typeof o.passwordHash === 'string' && o.passwordHash.startsWith('$argon2id$') && typeof o.changedAt === 'string';
}

export class AdminStore {
  private cached: AdminFile | null | undefined;
  readonly path: string;

  constructor(
    private readonly stateDir: string,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.path = join(stateDir, ADMIN_FILE);
  }

  private read(): AdminFile | null {
    if (this.cached !== undefined) return this.cached;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return (this.cached = null);
      throw e;
    }
    const parsed: unknown = JSON.parse(text);
    if (!isAdminFile(parsed)) throw new Error(`${this.path} is not a Warren admin file; remove it to set a new password through the first-run page`);
    return (this.cached = parsed);
  }

  hasPassword(): boolean {
    return this.read() !== null;
  }

  async setPassword(password: string): Promise<void> {
    const passwordHash = await Bun.password.hash(password, { algorithm: 'argon2id' });
    const file: AdminFile = { version: 1, passwordHash, changedAt: new Date(this.now()).toISOString() };
    writeAtomically(this.path, `${JSON.stringify(file, null, 2)}\n`);
    this.cached = file;
  }

  /** False when no password is set or it does not match (constant-time inside Bun.password). */
  async verify(password: string): Promise<boolean> {
    const file = this.read();
    if (!file) return false;
    return Bun.password.verify(password, file.passwordHash, 'argon2id');
  }
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  const dir = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
