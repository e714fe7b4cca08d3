// Human-readable `warren status`.

interface PeerView {
  name: string;
  endpoint: string | null;
  lastHandshakeSecondsAgo: number | null;
  rxBytes: number;
  txBytes: number;
}

export function printStatus(s: unknown): void {
  const st = s as { interface: string; publicKey: string; listenPort: number; peers: PeerView[] };
  const lines = [`interface ${st.interface}  port ${st.listenPort}`, `public key ${st.publicKey}`];
  for (const p of st.peers) {
    const hs = p.lastHandshakeSecondsAgo === null ? 'no handshake yet' : `handshake ${p.lastHandshakeSecondsAgo} s ago`;
    lines.push(`peer ${p.name}  ${p.endpoint ?? '(no endpoint)'}  ${hs}  rx ${p.rxBytes} B  tx ${p.txBytes} B`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `warren peers`: one line a peer. */
export function printPeers(peers: unknown[]): void {
  const lines = (peers as (PeerView & { allowedIps?: string[]; cipher?: string | null })[]).map((p) => {
    const hs = p.lastHandshakeSecondsAgo === null ? 'no handshake' : `handshake ${p.lastHandshakeSecondsAgo} s ago`;
    return `${p.name}  ${(p.allowedIps ?? []).join(',')}  ${p.endpoint ?? '(no endpoint)'}  ${hs}  ${p.cipher ?? ''}  rx ${p.rxBytes} B  tx ${p.txBytes} B`;
  });
  process.stdout.write(`${lines.length ? lines.join('\n') : 'no peers yet'}\n`);
}
