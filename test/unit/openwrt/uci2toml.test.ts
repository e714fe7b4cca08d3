// uci2toml: /etc/config/warren → Warren's TOML, checked by Warren's own config parser
// (parseConfigText, firstRunOf) — the shipped default, every option, hostile values, and each
// refusal naming the UCI option.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText, firstRunOf } from '../../../appliance/config/load.ts';
import { ConfigError } from '../../../appliance/config/schema.ts';
import { initNetwork } from '../../../appliance/network/setup.ts';
import { DEFAULT_UCI, SHELLS, UCI2TOML, box, type Box } from './openwrt-shell.ts';

const EXIT_KEY = 'BXdRaLCdyYdfkXA+TA2+ZzV+D/QxdbTrNgjX8Pa7v2Y=';
const ARGS = ['--lan-device', 'br-lan', '--lan-address', '192.168.1.1', '--wan-device', 'eth1'];

let b: Box;
beforeEach(() => {
  b = box();
});
afterEach(() => b.cleanup());

/** The shipped /etc/config/warren with data_dir moved into the test's directory. */
function shippedConfig(dataDir: string): string {
  const text = readFileSync(DEFAULT_UCI, 'utf8');
  expect(text).toContain("option data_dir '/etc/warren'");
  return text.replace("option data_dir '/etc/warren'", `option data_dir '${dataDir}'`);
}

function parseError(text: string): ConfigError {
  try {
    parseConfigText(text);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('the config was accepted');
}

for (const shell of SHELLS) {
  describe(`uci2toml under ${shell.join(' ')}`, () => {
    test('the shipped config: a first run (admin only) until a network exists, then a gateway', () => {
      const data = join(b.dir, 'data');
      b.uci('warren', shippedConfig(data));
      const r = b.run(shell, [UCI2TOML, ...ARGS]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const tomlPath = join(b.dir, 'warren.toml');
      writeFileSync(tomlPath, r.stdout);

      // Before the wizard: Warren sees a first run, its admin on the LAN address, port 8080.
      const first = firstRunOf(tomlPath);
      expect(first).not.toBeNull();
      expect(first!.dataDir).toBe(data);
      expect(first!.lan).toBe('br-lan');
      expect(first!.admin.listen).toBe('192.168.1.1:8080');
      expect(first!.controlSocket).toBe('/var/run/warren/warren.sock');

      // After it: the same file is a complete config.
      initNetwork(data, 'home');
      const config = parseConfigText(r.stdout);
      expect(config.gateway).toMatchObject({ lan: 'br-lan', wan: 'eth1', exit: 'auto', killSwitch: 'on', defaultPolicy: 'overlay', devices: [] });
      expect(config.gateway!.dns).toEqual({ enabled: true, upstream: ['9.9.9.9', '149.112.112.112'] });
      expect(config.exit).toBeNull();
      expect(config.relay.enabled).toBe(false);
      expect(config.admin.listen).toBe('192.168.1.1:8080');
      expect(config.network?.file).toBe(join(data, 'network.toml'));
    });

    test('every option, devices by mac and by ip, an exit with its limits', () => {
      const data = join(b.dir, 'data');
      initNetwork(data, 'home');
      b.uci(
        'warren',
        `
config warren 'main'
\toption data_dir '${data}'
\toption listen_port '40001'
\toption mtu '1400'
\toption exit '${EXIT_KEY}'
\toption kill_switch 'always'
\toption dns 'no'
\tlist dns_upstream '1.1.1.1'
\toption dhcp_range '192.168.1.100,192.168.1.200,12h'
\toption default_policy 'block'
\toption admin_port '8443'

config exit 'exit'
\toption enabled '1'
\toption accept_risk '1'
\toption block_smtp '0'
\toption rate_mbit '50'
\tlist deny '203.0.113.0/24'
\tlist deny '198.51.100.0/24'

config relay 'relay'
\toption enabled 'yes'

config device
\toption name 'tv'
\toption mac '02:00:00:00:00:20'
\toption policy 'direct'

config device
\toption ip '192.168.1.50'
`,
      );
      const r = b.run(shell, [UCI2TOML, ...ARGS]);
      expect(r.stderr).toBe('');
      const c = parseConfigText(r.stdout);
      expect(c.interface.listenPort).toBe(40001);
      expect(c.interface.mtu).toBe(1400);
      expect(c.gateway).toMatchObject({ exit: EXIT_KEY, killSwitch: 'always', dhcpRange: '192.168.1.100,192.168.1.200,12h', defaultPolicy: 'block' });
      expect(c.gateway!.dns).toEqual({ enabled: false, upstream: ['1.1.1.1'] });
      expect(c.gateway!.devices).toEqual([
        { name: 'tv', mac: '02:00:00:00:00:20', ip: null, policy: 'direct', exit: null },
        { name: '192.168.1.50', mac: null, ip: '192.168.1.50', policy: 'overlay', exit: null },
      ]);
      expect(c.exit).toMatchObject({ wan: 'eth1', blockSmtp: false, rateMbit: 50 });
      expect(c.exit!.deny).toHaveLength(2);
      expect(c.relay.enabled).toBe(true);
      expect(c.admin.listen).toBe('192.168.1.1:8443');
    });

    test('a device name with quotes, backslashes and TOML syntax stays data', () => {
      const data = join(b.dir, 'data');
      initNetwork(data, 'home');
      const name = `tv" \\ ]\n[exit] enabled = true # '`.replace('\n', ' ');
      const quoted = `'${name.replaceAll("'", `'\\''`)}'`;
      b.uci('warren', `config warren 'main'\n\toption data_dir '${data}'\nconfig device\n\toption name ${quoted}\n\toption mac '02:00:00:00:00:21'\n`);
      const r = b.run(shell, [UCI2TOML, ...ARGS]);
      expect(r.stderr).toBe('');
      const c = parseConfigText(r.stdout);
      expect(c.gateway!.devices[0]!.name).toBe(name);
      expect(c.exit).toBeNull();
    });

    const refusals: [string, string, string][] = [
      ['a kill switch mode that does not exist', "config warren 'main'\n\toption kill_switch 'sometimes'\n", 'main.kill_switch: "sometimes" is not one of: on always'],
      ['a non-boolean', "config warren 'main'\n\toption dns 'maybe'\n", 'main.dns: "maybe" is not a boolean'],
      ['a port that is not a number', "config warren 'main'\n\toption admin_port '80; rm -rf /'\n", 'main.admin_port: "80; rm -rf /" is not a whole number'],
      ['an exit that is neither auto nor a key', "config warren 'main'\n\toption exit 'the \"fast\" one'\n", 'main.exit: '],
      ['a device named by both mac and ip', "config device\n\toption mac '02:00:00:00:00:20'\n\toption ip '192.168.1.9'\n", '@device[0]: name the device by mac or by ip, not both'],
      ['a device named by neither', "config device\n\toption name 'tv'\n", '@device[0]: give the device a mac or an ip'],
      ['a control character in a name', "config device\n\toption name 'a\tb'\n\toption mac '02:00:00:00:00:20'\n", '@device[0].name: control characters are not allowed'],
      ['a relative data directory', "config warren 'main'\n\toption data_dir 'warren'\n", 'main.data_dir: "warren" is not an absolute path'],
      ['an unknown device policy', "config device\n\toption mac '02:00:00:00:00:20'\n\toption policy 'vip'\n", '@device[0].policy: "vip" is not one of: overlay direct block'],
    ];
    for (const [what, uci, message] of refusals) {
      test(`refuses ${what}, naming the option, and writes nothing`, () => {
        b.uci('warren', uci);
        const r = b.run(shell, [UCI2TOML, ...ARGS]);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain(`warren: /etc/config/warren: ${message}`);
      });
    }

    test('refuses to run without the LAN device, its address or the WAN device', () => {
      b.uci('warren', "config warren 'main'\n");
      for (const [args, message] of [
        [['--lan-address', '192.168.1.1', '--wan-device', 'eth1'], "the LAN has no device (is the network 'lan' up?)"],
        [['--lan-device', 'br-lan', '--wan-device', 'eth1'], "the LAN has no IPv4 address (network 'lan')"],
        [['--lan-device', 'br-lan', '--lan-address', '192.168.1.1'], "the WAN has no device (network 'wan')"],
        [['--lan-device', 'br lan', '--lan-address', '192.168.1.1', '--wan-device', 'eth1'], 'main.lan (device): "br lan" is not a Linux interface name'],
      ] as const) {
        const r = b.run(shell, [UCI2TOML, ...args]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(message);
      }
    });

    test('what only Warren can judge passes through and Warren names the TOML field', () => {
      const data = join(b.dir, 'data');
      initNetwork(data, 'home');
      b.uci('warren', `config warren 'main'\n\toption data_dir '${data}'\nconfig device\n\toption mac 'not-a-mac'\n`);
      const r = b.run(shell, [UCI2TOML, ...ARGS]);
      expect(r.code).toBe(0);
      expect(parseError(r.stdout).message).toContain('gateway.device[0].mac');
    });
  });
}
