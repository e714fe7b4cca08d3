import { describe, expect, test } from 'bun:test';
import { formatMetrics, labelValue } from '../../../appliance/control/metrics.ts';

describe('Prometheus metrics', () => {
  const text = formatMetrics({
    uptimeSeconds: 12,
    rssBytes: 1234,
    counters: { dropAuth: 3, rxDatagrams: 10 },
    secret: { generation: 2, peersOnPrevious: 1 },
    peers: [
      { name: 'grandma "g"', publicKey: 'k1=', rxBytes: 100, txBytes: 200, rxPackets: 1, txPackets: 2, handshakes: 1, lastHandshakeSecondsAgo: 5 },
      { name: 'new', publicKey: 'k2=', rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, handshakes: 0, lastHandshakeSecondsAgo: null },
    ],
  });
  test('counters are snake_case with _total, each with HELP and TYPE', () => {
    expect(text).toContain('# TYPE warren_drop_auth_total counter\nwarren_drop_auth_total 3\n');
    expect(text).toContain('warren_rx_datagrams_total 10\n');
    expect(text).toContain('# TYPE warren_uptime_seconds gauge\nwarren_uptime_seconds 12\n');
    expect(text).toContain('warren_peers 2\n');
    expect(text).toContain('# TYPE warren_network_secret_generation gauge\nwarren_network_secret_generation 2\n');
    expect(text).toContain('warren_peers_on_previous_secret 1\n');
    expect(formatMetrics({ uptimeSeconds: 1, rssBytes: 1, counters: {}, peers: [], secret: null })).not.toContain('secret');
  });
  test('per-peer series carry escaped labels; a peer with no handshake has no age sample', () => {
    expect(text).toContain('warren_peer_receive_bytes_total{peer="grandma \\"g\\"",key="k1="} 100\n');
    expect(text).toContain('warren_peer_last_handshake_age_seconds{peer="grandma \\"g\\"",key="k1="} 5\n');
    expect(text).not.toContain('warren_peer_last_handshake_age_seconds{peer="new"');
    expect(labelValue('a\\b\nc')).toBe('a\\\\b\\nc');
  });
  test('every sample line is name{labels} value', () => {
    for (const line of text.trim().split('\n').filter((l) => !l.startsWith('#'))) expect(line).toMatch(/^warren_[a-z_]+(\{.*\})? -?[0-9.e+]+$/);
  });
});
