// Prometheus text exposition (format 0.0.4) of the daemon's status: one source of truth (the
// status object the CLI reads), conventional names — `warren_` prefix, `_total` for counters,
// base units (bytes, seconds).

export interface MetricsView {
  uptimeSeconds: number;
  rssBytes: number;
  counters: Record<string, number>;
  secret?: { generation: number; peersOnPrevious: number } | null;
  peers: { name: string; publicKey: string; rxBytes: number; txBytes: number; rxPackets: number; txPackets: number; handshakes: number; lastHandshakeSecondsAgo: number | null }[];
}

/** camelCase → snake_case: dropAuth → drop_auth. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A label value with \, " and newlines escaped (exposition format). */
export function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatMetrics(s: MetricsView): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${Number.isFinite(value) ? value : 0}`);
  };
  metric('warren_uptime_seconds', 'gauge', 'Seconds since the daemon started.', [['', s.uptimeSeconds]]);
  metric('warren_resident_memory_bytes', 'gauge', 'Resident set size of the daemon.', [['', s.rssBytes]]);
  for (const [k, v] of Object.entries(s.counters)) {
    metric(`warren_${snake(k)}_total`, 'counter', `Datagrams or events counted as ${k}.`, [['', v]]);
  }
  metric('warren_peers', 'gauge', 'Peers the daemon knows.', [['', s.peers.length]]);
  if (s.secret) {
    metric('warren_network_secret_generation', 'gauge', 'Rotations of the network secret so far.', [['', s.secret.generation]]);
    metric('warren_peers_on_previous_secret', 'gauge', 'Peers whose session is still under the network secret before the last rotation.', [['', s.secret.peersOnPrevious]]);
  }
  const per = (p: MetricsView['peers'][number]) => `{peer="${labelValue(p.name)}",key="${labelValue(p.publicKey)}"}`;
  metric('warren_peer_receive_bytes_total', 'counter', 'Bytes of IP packets received from the peer.', s.peers.map((p) => [per(p), p.rxBytes]));
  metric('warren_peer_transmit_bytes_total', 'counter', 'Bytes of IP packets sent to the peer.', s.peers.map((p) => [per(p), p.txBytes]));
  metric('warren_peer_receive_packets_total', 'counter', 'IP packets received from the peer.', s.peers.map((p) => [per(p), p.rxPackets]));
  metric('warren_peer_transmit_packets_total', 'counter', 'IP packets sent to the peer.', s.peers.map((p) => [per(p), p.txPackets]));
  metric('warren_peer_handshakes_total', 'counter', 'Completed handshakes with the peer.', s.peers.map((p) => [per(p), p.handshakes]));
  metric('warren_peer_last_handshake_age_seconds', 'gauge', 'Seconds since the last completed handshake (absent: none yet).',
    s.peers.filter((p) => p.lastHandshakeSecondsAgo !== null).map((p) => [per(p), p.lastHandshakeSecondsAgo ?? 0]));
  return `${out.join('\n')}\n`;
}
