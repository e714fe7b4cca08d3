// Human-readable `warren status`.

import type { QualityFigures } from '../session/quality.ts';

interface PeerView {
  name: string;
  endpoint: string | null;
  lastHandshakeSecondsAgo: number | null;
  rxBytes: number;
  txBytes: number;
}

export function printStatus(s: unknown): void {
  const st = s as { interface: string; publicKey: string; listenPort: number; peers: PeerView[]; secret?: { generation: number; previousUntil: string | null; peersOnPrevious: number } | null };
  const lines = [`interface ${st.interface}  port ${st.listenPort}`, `public key ${st.publicKey}`];
  const sec = st.secret;
  if (sec && (sec.generation > 0 || sec.previousUntil)) {
    lines.push(`network secret generation ${sec.generation}${sec.previousUntil ? `; the previous one accepted until ${sec.previousUntil} (${sec.peersOnPrevious} peer(s) still under it)` : ''}`);
  }
  for (const p of st.peers) {
    const hs = p.lastHandshakeSecondsAgo === null ? 'no handshake yet' : `handshake ${p.lastHandshakeSecondsAgo} s ago`;
    lines.push(`peer ${p.name}  ${p.endpoint ?? '(no endpoint)'}  ${hs}  rx ${p.rxBytes} B  tx ${p.txBytes} B`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `warren peers`: one line a peer. */
export function printPeers(peers: unknown[]): void {
  const lines = (peers as (PeerView & { allowedIps?: string[]; cipher?: string | null } & Partial<QualityFigures>)[]).map((p) => {
    const hs = p.lastHandshakeSecondsAgo === null ? 'no handshake' : `handshake ${p.lastHandshakeSecondsAgo} s ago`;
    const rtt = p.rttMs === null || p.rttMs === undefined ? 'rtt —' : `rtt ${p.rttMs} ms`;
    const loss = p.lossPercent === null || p.lossPercent === undefined ? 'loss —' : `loss ${p.lossPercent} %`;
    const up = p.upSeconds === null || p.upSeconds === undefined ? 'down' : `up ${p.upSeconds} s`;
    const rate = `${Math.round(((p.rxBytesPerSecond ?? 0) * 8) / 1000)}/${Math.round(((p.txBytesPerSecond ?? 0) * 8) / 1000)} kbit/s`;
    return `${p.name}  ${(p.allowedIps ?? []).join(',')}  ${p.endpoint ?? '(no endpoint)'}  ${hs}  ${p.cipher ?? ''}  ${rtt}  ${loss}  ${up}  ${rate}  rx ${p.rxBytes} B  tx ${p.txBytes} B`;
  });
  process.stdout.write(`${lines.length ? lines.join('\n') : 'no peers yet'}\n`);
}
