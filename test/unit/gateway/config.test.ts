// [gateway] and [exit]: defaults, and each mistake refused naming its field.

import { describe, expect, test } from 'bun:test';
import { parseConfigText } from '../../../appliance/config/load.ts';
import { ConfigError, encodeKey } from '../../../appliance/config/schema.ts';
import { DEFAULT_DNS_UPSTREAM, DEFAULT_MARK, DEFAULT_TABLE } from '../../../appliance/config/gateway.ts';

const KEY = encodeKey(new Uint8Array(32).fill(7));
const EXIT = encodeKey(new Uint8Array(32).fill(9));
const BASE = `[interface]\nprivate_key = "${KEY}"\nwire = "wireguard"\naddress = ["100.80.0.1/10"]\n`;

function fieldOf(text: string): string {
  try {
    parseConfigText(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.field;
    throw e;
  }
  throw new Error('accepted');
}

describe('gateway config', () => {
  test('defaults: exit auto, kill switch on, DNS through Quad9 via the exit, overlay for new devices', () => {
    const c = parseConfigText(`${BASE}[gateway]\nlan = "br-lan"\nwan = "eth0"\n`);
    expect(c.gateway).toEqual({
      lan: 'br-lan', wan: 'eth0', exit: 'auto', killSwitch: 'on', dns: { enabled: true, upstream: DEFAULT_DNS_UPSTREAM },
      dhcpRange: null, defaultPolicy: 'overlay', devices: [], table: DEFAULT_TABLE, mark: DEFAULT_MARK, portMapping: true, hops: 1, circuitPath: [],
    });
    expect(c.exit).toBeNull();
  });

  test('devices by MAC (lower-cased) or IP, each with a policy, and an exit of its own or none', () => {
    const c = parseConfigText(`${BASE}[gateway]\nlan = "lan0"\nwan = "wan0"\nexit = "${EXIT}"\ndhcp_range = "192.168.1.100,192.168.1.200,12h"
[[gateway.device]]\nname = "tv"\nmac = "02:AA:00:00:00:01"\npolicy = "direct"
[[gateway.device]]\nip = "192.168.1.9"\npolicy = "block"
[[gateway.device]]\nip = "192.168.1.10"\nexit = "${EXIT}"\n`);
    expect(c.gateway?.exit).toBe(EXIT);
    expect(c.gateway?.devices).toEqual([
      { name: 'tv', mac: '02:aa:00:00:00:01', ip: null, policy: 'direct', exit: null },
      { name: '192.168.1.9', mac: null, ip: '192.168.1.9', policy: 'block', exit: null },
      { name: '192.168.1.10', mac: null, ip: '192.168.1.10', policy: 'overlay', exit: EXIT },
    ]);
    expect(() => parseConfigText(`${BASE}[gateway]\nlan = "lan0"\nwan = "wan0"\n[[gateway.device]]\nip = "192.168.1.10"\nexit = "grandma"\n`)).toThrow(/gateway\.device\[0\]\.exit/);
  });

  test.each([
    ['lan missing', '[gateway]\nwan = "eth0"\n', 'gateway.lan'],
    ['same interfaces', '[gateway]\nlan = "eth0"\nwan = "eth0"\n', 'gateway.wan'],
    ["Warren's own TUN", '[gateway]\nlan = "warren0"\nwan = "eth0"\n', 'gateway.lan'],
    ['bad interface name', '[gateway]\nlan = "a b"\nwan = "eth0"\n', 'gateway.lan'],
    ['bad exit', '[gateway]\nlan = "l"\nwan = "w"\nexit = "fastest"\n', 'gateway.exit'],
    ['bad kill switch', '[gateway]\nlan = "l"\nwan = "w"\nkill_switch = "off"\n', 'gateway.kill_switch'],
    ['resolver not IPv4', '[gateway]\nlan = "l"\nwan = "w"\ndns_upstream = ["dns.quad9.net"]\n', 'gateway.dns_upstream[0]'],
    ['bad DHCP range', '[gateway]\nlan = "l"\nwan = "w"\ndhcp_range = "192.168.1.100"\n', 'gateway.dhcp_range'],
    ['bad policy', '[gateway]\nlan = "l"\nwan = "w"\ndefault_policy = "vpn"\n', 'gateway.default_policy'],
    ['device with mac and ip', '[gateway]\nlan = "l"\nwan = "w"\n[[gateway.device]]\nmac = "02:00:00:00:00:01"\nip = "192.168.1.2"\n', 'gateway.device[0]'],
    ['bad mac', '[gateway]\nlan = "l"\nwan = "w"\n[[gateway.device]]\nmac = "02:00:00:00:01"\n', 'gateway.device[0].mac'],
    ['unknown setting', '[gateway]\nlan = "l"\nwan = "w"\nvpn = true\n', 'gateway.vpn'],
  ])('%s is refused naming the field', (_what, section, field) => {
    expect(fieldOf(BASE + section)).toBe(field);
  });
});

describe('exit config', () => {
  test('an exit needs an explicit accept_risk, which explains why', () => {
    let message = '';
    try {
      parseConfigText(`${BASE}[exit]\nenabled = true\nwan = "eth0"\n`);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('exit.accept_risk');
    expect(message).toContain('responsible');
  });

  test('enabled with accept_risk: SMTP blocked by default, extra denies, rate cap', () => {
    const c = parseConfigText(`${BASE}[exit]\nenabled = true\naccept_risk = true\nwan = "eth0"\ndeny = ["198.51.100.0/24"]\nrate_mbit = 50\n`);
    expect(c.exit?.blockSmtp).toBe(true);
    expect(c.exit?.deny).toHaveLength(1);
    expect(c.exit?.rateMbit).toBe(50);
    expect(c.exit?.forwardPorts).toEqual({ first: 1024, last: 65_535 });
    expect(c.exit?.forwardsPerMember).toBe(16);
    const d = parseConfigText(`${BASE}[exit]\nenabled = true\naccept_risk = true\nwan = "eth0"\nforward_ports = "40000-40999"\nforwards_per_member = 2\n`);
    expect(d.exit?.forwardPorts).toEqual({ first: 40_000, last: 40_999 });
    expect(d.exit?.forwardsPerMember).toBe(2);
    expect(c.exit?.memberConnections).toBe(8192);
    expect(c.exit?.memberRateMbit).toBe(0);
  });

  test('not enabled: no exit', () => {
    expect(parseConfigText(`${BASE}[exit]\nenabled = false\n`).exit).toBeNull();
  });

  test.each([
    ['no wan', '[exit]\nenabled = true\naccept_risk = true\n', 'exit.wan'],
    ['bad deny', '[exit]\nenabled = true\naccept_risk = true\nwan = "e"\ndeny = ["everything"]\n', 'exit.deny[0]'],
    ['negative rate', '[exit]\nenabled = true\naccept_risk = true\nwan = "e"\nrate_mbit = -1\n', 'exit.rate_mbit'],
    ['privileged forward ports', '[exit]\nenabled = true\naccept_risk = true\nwan = "e"\nforward_ports = "22-2000"\n', 'exit.forward_ports'],
    ['a backwards range', '[exit]\nenabled = true\naccept_risk = true\nwan = "e"\nforward_ports = "50000-40000"\n', 'exit.forward_ports'],
    ['not a range', '[exit]\nenabled = true\naccept_risk = true\nwan = "e"\nforward_ports = "lots"\n', 'exit.forward_ports'],
    ['too many per member', '[exit]\nenabled = true\naccept_risk = true\nwan = "e"\nforwards_per_member = 5000\n', 'exit.forwards_per_member'],
    ['four hops', '[gateway]\nlan = "l"\nwan = "w"\nhops = 4\n', 'gateway.hops'],
    ['a device with no hops', '[gateway]\nlan = "l"\nwan = "w"\n[[gateway.device]]\nip = "192.168.1.5"\nhops = 0\n', 'gateway.device[0].hops'],
    ['a one-hop circuit path', `[gateway]\nlan = "l"\nwan = "w"\ncircuit_path = ["${'A'.repeat(43)}="]\n`, 'gateway.circuit_path'],
    ['a circuit path of names', '[gateway]\nlan = "l"\nwan = "w"\ncircuit_path = ["relay1", "exit"]\n', 'gateway.circuit_path[0]'],
    ['port mapping not a boolean', '[gateway]\nlan = "l"\nwan = "w"\nport_mapping = "yes"\n', 'gateway.port_mapping'],
  ])('%s is refused naming the field', (_what, section, field) => {
    expect(fieldOf(BASE + section)).toBe(field);
  });
});
