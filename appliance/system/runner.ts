// Every command Warren runs goes through one runner (as Tailscale's linuxfw does), so tests
// can replace it and every failure carries the command and what it printed.

export class CommandError extends Error {
  readonly kind = 'command';
  constructor(readonly argv: string[], readonly code: number, readonly output: string) {
    super(`command failed (exit ${code}): ${argv.join(' ')}${output ? `\n${output.trim()}` : ''}`);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Runner = (argv: string[], opts?: { allowFail?: boolean; stdin?: string }) => RunResult;

export const systemRunner: Runner = (argv, opts = {}) => {
  const p = Bun.spawnSync(argv, { stdin: opts.stdin === undefined ? 'ignore' : Buffer.from(opts.stdin), stdout: 'pipe', stderr: 'pipe' });
  const res = { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  if (res.code !== 0 && !opts.allowFail) throw new CommandError(argv, res.code, res.stderr || res.stdout);
  return res;
};
