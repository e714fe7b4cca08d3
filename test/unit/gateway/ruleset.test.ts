// The inet warren ruleset as text: the kill switch is the last LAN rule, device policy comes
// first, DNS is redirected for overlay devices only, the exit denies its own networks and
// private ranges, and a kept kill switch holds only what it must. (netns/nft-ruleset.test.ts
// loads every variant into a real kernel.)

import { describe, expect, test } from 'bun:test';
import { buildRuleset, disjoint, type GatewayRules, type ExitRules } from '../../../appliance/system/nft.ts';
import { parsePrefix, type Prefix } from '../../../appliance/dataplane/packet/addr.ts';
import { ownSubnets, rulesetFor } from '../../../appliance/gateway/gateway.ts';
import { parseConfigText } from '../../../appliance/config/load.ts';
import { encodeKey } from '../../../appliance/config/schema.ts';

const p = (s: string): Prefix => parsePrefix(s)!;
export const GW: GatewayRules = {
  tun: 'warren0', self: [p('100.80.0.1/10')], lan: 'br-lan', wan: 'eth0', mark: 0x5741, defaultPolicy: 'overlay', redirectDns: true,
  devices: [
    { name: 'tv', mac: '02:00:00:00:00:20', ip: null, policy: 'direct', exit: null },
    { name: 'kid', mac: null, ip: '192.168.1.30', policy: 'block', exit: null },
  ],
};
export const EXIT: ExitRules = { tun: 'warren0', wan: 'eth0', self: [p('100.80.0.2/10')], deny: [p('10.0.0.0/8'), p('10.1.2.0/24'), p('192.168.50.7/24')], blockSmtp: true, rateMbit: 0 };

const chainOf = (text: string, name: string): string[] => {
  const start = text.indexOf(`chain ${name} {`);
  if (start < 0) return [];
  return text.slice(start, text.indexOf('\n  }', start)).split('\n').slice(2).map((l) => l.trim());
};

describe('gateway ruleset', () => {
  const text = buildRuleset({ gateway: GW, exit: null });

  test('classification: blocked first, then explicit policies, then the default', () => {
    const c = chainOf(text, 'mangle_prerouting');
    expect(c[0]).toBe('iifname "br-lan" ether saddr @block_mac drop');
    expect(c.at(-1)).toBe('iifname "br-lan" meta mark set 0x5741');
    expect(text).toContain('set direct_mac { type ether_addr; elements = { 02:00:00:00:00:20 } }');
    expect(text).toContain('set block_ip { type ipv4_addr; elements = { 192.168.1.30 } }');
  });

  test('the kill switch: after the two allowed paths, everything else from the LAN is dropped', () => {
    const f = chainOf(text, 'filter_forward');
    const killAt = f.indexOf('iifname "br-lan" drop');
    expect(killAt).toBe(4);
    expect(f[3]).toBe('iifname "br-lan" oifname "warren0" ct state established,related accept');
    expect(f[0]).toBe('iifname "br-lan" oifname "warren0" tcp flags syn tcp option maxseg size set rt mtu');
    expect(f[1]).toBe('iifname "br-lan" oifname "warren0" meta mark 0x5741 meta nfproto ipv4 accept');
    expect(f[2]).toBe('iifname "br-lan" meta mark 0x5742 oifname "eth0" accept');
    expect(f.slice(0, killAt).some((l) => l.includes('ip6'))).toBe(false); // no IPv6 path out
  });

  test('DNS of overlay devices is redirected to the appliance; the appliance never sends DNS or overlay-sourced packets out of the WAN', () => {
    expect(chainOf(text, 'nat_prerouting')).toEqual([
      'iifname "br-lan" meta mark 0x5741 meta nfproto ipv4 udp dport 53 redirect to :53',
      'iifname "br-lan" meta mark 0x5741 meta nfproto ipv4 tcp dport 53 redirect to :53',
      'iifname "warren0" ip daddr @self4 dnat ip to tcp dport map @fwd_lan_tcp',
      'iifname "warren0" ip daddr @self4 dnat ip to udp dport map @fwd_lan_udp',
    ]);
    expect(chainOf(text, 'filter_output')).toContain('oifname "eth0" meta l4proto { tcp, udp } th dport 53 drop');
    expect(chainOf(text, 'filter_output')).toContain('oifname "eth0" meta nfproto ipv4 ip saddr @self4 drop');
    expect(text).toContain('set self4 { type ipv4_addr; elements = { 100.80.0.1 } }');
  });

  test('SNAT to the overlay address (connections survive a restart); direct devices masquerade to the WAN', () => {
    expect(chainOf(text, 'nat_postrouting')).toEqual([
      'oifname "warren0" meta mark 0x5741 meta nfproto ipv4 snat ip to 100.80.0.1',
      'oifname "eth0" meta mark 0x5742 masquerade',
    ]);
  });

  test('per-device exits: their devices get a connection mark and a source-port range; the others the ports below', () => {
    const K1 = 'A'.repeat(43) + '=';
    const K2 = 'B'.repeat(43) + '=';
    const devices = [...GW.devices, { name: 'phone', mac: '02:00:00:00:00:50', ip: null, policy: 'overlay' as const, exit: K2 }, { name: 'pc', mac: null, ip: '192.168.1.40', policy: 'overlay' as const, exit: K1 }];
    const t = buildRuleset({ gateway: { ...GW, devices }, exit: null });
    expect(t).toContain('set exit0_ip { type ipv4_addr; elements = { 192.168.1.40 } }'); // K1 sorts first
    expect(t).toContain('set exit1_mac { type ether_addr; elements = { 02:00:00:00:00:50 } }');
    expect(chainOf(t, 'mangle_prerouting')).toContain('iifname "br-lan" ether saddr @exit1_mac meta mark set 0x5741 ct mark set 0x57e10001 accept');
    expect(chainOf(t, 'nat_postrouting')).toEqual([
      'oifname "warren0" meta mark 0x5741 ct mark 0x57e10000 meta nfproto ipv4 meta l4proto { tcp, udp } snat ip to 100.80.0.1:48000-49999',
      'oifname "warren0" meta mark 0x5741 ct mark 0x57e10001 meta nfproto ipv4 meta l4proto { tcp, udp } snat ip to 100.80.0.1:50000-51999',
      'oifname "warren0" meta mark 0x5741 meta nfproto ipv4 meta l4proto { tcp, udp } snat ip to 100.80.0.1:1024-47999',
      'oifname "warren0" meta mark 0x5741 meta nfproto ipv4 snat ip to 100.80.0.1',
      'oifname "eth0" meta mark 0x5742 masquerade',
    ]);
  });

  test('default policy block and direct', () => {
    expect(chainOf(buildRuleset({ gateway: { ...GW, defaultPolicy: 'block' }, exit: null }), 'mangle_prerouting').at(-1)).toBe('iifname "br-lan" drop');
    expect(chainOf(buildRuleset({ gateway: { ...GW, defaultPolicy: 'direct' }, exit: null }), 'mangle_prerouting').at(-1)).toBe('iifname "br-lan" meta mark set 0x5742');
  });

  test('kept kill switch: classification, the drop and direct NAT; no path into the TUN, no DNS redirect', () => {
    const kept = buildRuleset({ gateway: GW, exit: EXIT, killSwitchOnly: true });
    expect(chainOf(kept, 'filter_forward')).toEqual(['iifname "br-lan" meta mark 0x5742 oifname "eth0" accept', 'iifname "br-lan" drop']);
    expect(kept).not.toContain('redirect');
    expect(kept).not.toContain('warren0');
    expect(chainOf(kept, 'nat_postrouting')).toEqual(['oifname "eth0" meta mark 0x5742 masquerade']);
  });

  test('site-to-site: shared LANs are open to members before any limit on them', () => {
    const t = buildRuleset({ gateway: GW, exit: EXIT, sites: { tun: 'warren0', networks: [p('192.168.1.7/24'), p('fd00:1::/64')] } });
    expect(t).toContain('set site4 { type ipv4_addr; flags interval; elements = { 192.168.1.0/24 } }');
    const f = chainOf(t, 'filter_forward');
    const open = f.indexOf('iifname "warren0" ip daddr @site4 accept');
    expect(open).toBeGreaterThan(f.indexOf('iifname "br-lan" drop'));
    expect(open).toBeLessThan(f.indexOf('iifname "warren0" oifname "br-lan" drop'));
    expect(open).toBeLessThan(f.indexOf('iifname "warren0" ip daddr @exit_deny4 drop'));
  });

  test('names that are not interface names are refused', () => {
    expect(() => buildRuleset({ gateway: { ...GW, lan: 'x"; flush ruleset; "' }, exit: null })).toThrow(RangeError);
  });
});

describe('exit ruleset', () => {
  const text = buildRuleset({ gateway: null, exit: EXIT });

  test('denied networks are merged into disjoint intervals', () => {
    expect(text).toContain('set exit_deny4 { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.50.0/24 } }');
    expect(disjoint([p('10.0.0.0/8'), p('10.0.0.0/8'), p('10.9.0.0/16'), p('11.0.0.0/8')])).toEqual(['10.0.0.0/8', '11.0.0.0/8']);
  });

  test('members reach the WAN only, not the denied networks, not SMTP, not the exit itself', () => {
    const f = chainOf(text, 'filter_forward');
    expect(f).toEqual([
      'iifname "warren0" oifname "eth0" ct status dnat accept',
      'iifname "warren0" ip daddr @exit_deny4 drop',
      'iifname "warren0" ip6 daddr @exit_deny6 drop',
      'iifname "warren0" tcp dport 25 drop',
      'iifname "warren0" oifname "eth0" accept',
      'iifname "warren0" drop',
      // From the WAN into the TUN: replies, and the inbound ports members hold; nothing else.
      'iifname "eth0" oifname "warren0" ct state established,related accept',
      'iifname "eth0" oifname "warren0" tcp flags syn tcp option maxseg size set rt mtu',
      'iifname "eth0" oifname "warren0" ct status dnat accept',
      'iifname "eth0" oifname "warren0" drop',
    ]);
    expect(chainOf(text, 'filter_input')).toContain('iifname "warren0" meta nfproto ipv4 ip daddr != @self4 drop');
    expect(chainOf(text, 'nat_postrouting')).toEqual(['iifname "warren0" oifname "eth0" masquerade']);
  });

  test('inbound ports: the exit maps its WAN ports to members, the appliance its overlay ports to LAN devices', () => {
    const forwards = {
      exit: [{ proto: 'tcp' as const, port: 51413, to: '100.80.0.1', toPort: 4000 }, { proto: 'udp' as const, port: 51413, to: '100.80.0.1', toPort: 4001 }],
      home: [{ proto: 'tcp' as const, port: 4000, to: '192.168.1.10', toPort: 51413 }],
    };
    const both = buildRuleset({ gateway: GW, exit: EXIT, forwards });
    expect(both).toContain('map fwd_wan_tcp { type inet_service : ipv4_addr . inet_service; elements = { 51413 : 100.80.0.1 . 4000 } }');
    expect(both).toContain('map fwd_wan_udp { type inet_service : ipv4_addr . inet_service; elements = { 51413 : 100.80.0.1 . 4001 } }');
    expect(both).toContain('map fwd_lan_tcp { type inet_service : ipv4_addr . inet_service; elements = { 4000 : 192.168.1.10 . 51413 } }');
    expect(both).toContain('map fwd_lan_udp { type inet_service : ipv4_addr . inet_service; }');
    expect(chainOf(both, 'nat_prerouting')).toContain('iifname "eth0" dnat ip to tcp dport map @fwd_wan_tcp');
    // The appliance lets members into its LAN only where it forwarded them.
    const f = chainOf(both, 'filter_forward');
    expect(f.indexOf('iifname "warren0" oifname "br-lan" ct status dnat accept')).toBe(f.indexOf('iifname "warren0" oifname "br-lan" drop') - 1);
    // A kept kill switch has no forwards.
    expect(buildRuleset({ gateway: GW, exit: EXIT, forwards, killSwitchOnly: true })).not.toContain('fwd_');
  });

  test('fair sharing: each member has its own policer each way (by overlay address, before NAT) and a cap on open connections', () => {
    const t = buildRuleset({ gateway: null, exit: { ...EXIT, memberRateMbit: 8, memberConnections: 500 } });
    const f = chainOf(t, 'filter_forward');
    expect(f[0]).toBe('iifname "warren0" oifname "eth0" update @member_up { ip saddr limit rate over 977 kbytes/second burst 98 kbytes } drop');
    expect(f[1]).toBe('iifname "warren0" oifname "eth0" ct state new add @member_conns { ip saddr ct count over 500 } drop');
    expect(f).toContain('iifname "eth0" oifname "warren0" update @member_down { ip daddr limit rate over 977 kbytes/second burst 98 kbytes } drop');
    expect(f.indexOf('iifname "eth0" oifname "warren0" update @member_down { ip daddr limit rate over 977 kbytes/second burst 98 kbytes } drop')).toBeLessThan(f.indexOf('iifname "eth0" oifname "warren0" ct state established,related accept'));
    expect(t).toContain('set member_conns { type ipv4_addr; flags dynamic; size 65536; }');
    expect(buildRuleset({ gateway: null, exit: EXIT })).not.toContain('member_');
  });

  test('circuits: devices of 2 and 3 hops are marked for the circuit TUN, NATed to one address per hop count; the exit treats circuits as members', () => {
    const devices = [...GW.devices, { name: 'laptop', mac: null, ip: '192.168.1.50', policy: 'overlay' as const, exit: null, hops: 3 as const }];
    const t = buildRuleset({ gateway: { ...GW, devices, circuitTun: 'warren0c', hops: 2 }, exit: { ...EXIT, circuitTun: 'warren0c' } });
    expect(t).toContain('set hops3_ip { type ipv4_addr; elements = { 192.168.1.50 } }');
    const c = chainOf(t, 'mangle_prerouting');
    expect(c).toContain('iifname "br-lan" ip saddr @hops3_ip meta mark set 0x5744 accept');
    expect(c.at(-1)).toBe('iifname "br-lan" meta mark set 0x5743'); // the default: 2 hops
    const f = chainOf(t, 'filter_forward');
    expect(f).toContain('iifname "br-lan" oifname "warren0c" meta mark { 0x5743, 0x5744 } meta nfproto ipv4 accept');
    expect(f.indexOf('iifname "br-lan" drop')).toBeGreaterThan(f.indexOf('iifname "br-lan" oifname "warren0c" meta mark { 0x5743, 0x5744 } meta nfproto ipv4 accept'));
    expect(f).toContain('iifname "warren0c" oifname "br-lan" drop');
    expect(f).toContain('iifname { "warren0", "warren0c" } oifname "eth0" accept');
    expect(chainOf(t, 'nat_postrouting')).toContain('oifname "warren0c" meta mark 0x5744 meta nfproto ipv4 snat ip to 198.18.0.3');
    expect(chainOf(t, 'nat_postrouting')).toContain('iifname { "warren0", "warren0c" } oifname "eth0" masquerade');
  });

  test('a shaped uplink: members\' packets are put in the lower HTB class', () => {
    expect(chainOf(buildRuleset({ gateway: null, exit: { ...EXIT, shaped: true } }), 'filter_forward')).toContain('iifname "warren0" oifname "eth0" meta priority set 5741:20');
    expect(buildRuleset({ gateway: null, exit: EXIT })).not.toContain('meta priority');
  });

  test('a rate cap becomes a limit in kbytes/s', () => {
    expect(buildRuleset({ gateway: null, exit: { ...EXIT, rateMbit: 8 } })).toContain('limit rate over 977 kbytes/second burst 98 kbytes drop');
  });

  test("rulesetFor: the exit denies private ranges, link-local, the overlay and every subnet it is on, never its TUN's", () => {
    const key = encodeKey(new Uint8Array(32).fill(3));
    const config = parseConfigText(`[interface]\nname = "wrn0"\nprivate_key = "${key}"\nwire = "wireguard"\naddress = ["100.80.0.2/10"]\n[exit]\nenabled = true\naccept_risk = true\nwan = "eth0"\n`);
    const ifs = {
      eth0: [{ address: '203.0.113.20', netmask: '255.255.255.240', family: 'IPv4', mac: '', internal: false, cidr: '203.0.113.20/28' }],
      wrn0: [{ address: '100.80.0.2', netmask: '255.192.0.0', family: 'IPv4', mac: '', internal: false, cidr: '100.80.0.2/10' }],
      wrn0c: [{ address: '198.18.0.254', netmask: '255.255.255.255', family: 'IPv4', mac: '', internal: false, cidr: '198.18.0.254/32' }],
    } as unknown as Parameters<typeof ownSubnets>[1];
    const deny = rulesetFor(config, ifs).exit!.deny.map((d) => `${d.bytes.join('.')}/${d.bits}`);
    for (const want of ['203.0.113.20/28', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10', '127.0.0.0/8']) expect(deny).toContain(want);
    expect(ownSubnets('wrn0', ifs).map((x) => x.bits)).toEqual([28]); // not the tunnel's, nor the circuit TUN's
  });
});
