// The support bundle: one text file an owner can attach when asking for help — versions, the
// settings, the network's shape, the config file and the daemon's status and recent log — with
// every secret taken out. Pure: the caller gathers the parts.
//
// Redaction is by name and by shape, so a secret in a place nobody foresaw (a log line, a
// hand-written config key) is still caught:
// - invites (`warren1:…`) are removed whole: they carry the network secret;
// - fields named like a secret (private_key, preshared_key, secret, psk, password, in TOML or
//   JSON) lose their value, whatever it looks like;
// - every other 32-byte key in WireGuard base64 (44 characters) or hex (64) is removed, except
//   public keys the appliance knows (its own, its peers', its members'), which are shortened to
//   8 characters — enough to tell them apart, no longer a key.

export interface BundleParts {
  generatedAt: Date;
  versions: Record<string, string>;
  /** The settings file's content (or why it could not be read). */
  settings: string;
  network: { name: string; requireApproval: boolean; approved: number; pending: number; revoked: number } | null;
  configPath: string | null;
  /** The config file's text, or null when there is none to show. */
  configText: string | null;
  /** The daemon's status object; null while no tunnel runs. */
  status: unknown;
  logs: readonly string[];
  /** Public keys that may stay, shortened. */
  publicKeys: Iterable<string>;
}

const INVITE_RE = /\bwarren\d+:[a-z2-7]+/gi;
const SECRET_NAME = String.raw`[A-Za-z_]*(?:private|secret|preshared|psk|password|passphrase)[A-Za-z_]*`;
/** `name = "value"`, `name: "value"`, `"name": "value"` (TOML, JSON, logs); the value is removed. */
const SECRET_FIELD_RE = new RegExp(String.raw`(["']?)(${SECRET_NAME})\1(\s*[=:]\s*)(["'])((?:(?!\4)[^\n])*)\4`, 'gi');
const B64_KEY_RE = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=?(?![A-Za-z0-9+/=])/g;
const HEX_KEY_RE = /(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])/g;

export const REMOVED = '(removed)';

/** `text` with secrets removed and known public keys shortened (see the header). */
export function redact(text: string, publicKeys: ReadonlySet<string>): string {
  return text
    .replace(INVITE_RE, `warren1:${REMOVED}`)
    .replace(SECRET_FIELD_RE, (all, q: string, name: string, sep: string, quote: string) => {
      // A path to a key file is not the key: `private_key_file = "/etc/warren/private.key"` stays.
      if (/file$|path$/i.test(name)) return all;
      return `${q}${name}${q}${sep}${quote}${REMOVED}${quote}`;
    })
    .replace(B64_KEY_RE, (key) => (publicKeys.has(key.length === 43 ? `${key}=` : key) ? `${key.slice(0, 8)}…` : REMOVED))
    .replace(HEX_KEY_RE, REMOVED);
}

export function formatSupportBundle(p: BundleParts): string {
  const keys = new Set(p.publicKeys);
  const section = (title: string, body: string) => `== ${title} ==\n${body.trimEnd()}\n`;
  const net = p.network;
  const parts = [
    `Warren support bundle, made ${p.generatedAt.toISOString()}.`,
    'Keys and secrets are removed; public keys are shortened to their first 8 characters.',
    '',
    section('versions', Object.entries(p.versions).map(([k, v]) => `${k}: ${v}`).join('\n')),
    section('network', net ? `name: ${net.name}\nnew devices: ${net.requireApproval ? 'need approval' : 'approved automatically'}\napproved: ${net.approved}, pending: ${net.pending}, revoked: ${net.revoked}` : '(none yet)'),
    section('settings', p.settings),
    section(`config${p.configPath ? ` ${p.configPath}` : ''}`, p.configText ?? '(not available)'),
    section('status', p.status === null || p.status === undefined ? '(no tunnel running)' : JSON.stringify(p.status, null, 2)),
    section(`log (last ${p.logs.length === 1 ? 'line' : `${p.logs.length} lines`})`, p.logs.join('\n') || '(empty)'),
  ];
  return redact(parts.join('\n'), keys);
}
