// /etc/init.d/warren's logic, sourced into a shell whose procd, netifd (network.sh) and logger
// functions are stand-ins that record their calls: what procd is asked to run, when it restarts
// Warren, and what the script refuses.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstRunOf } from '../../../appliance/config/load.ts';
import { DEFAULT_UCI, INIT, SHELLS, UCI2TOML, box, type Box } from './openwrt-shell.ts';

const STUBS = `
# procd.sh, network.sh and logger, recording to $PROCD_LOG.
procd_open_instance() { echo "open_instance" >>"$PROCD_LOG"; }
procd_set_param() { echo "set_param $*" >>"$PROCD_LOG"; }
procd_close_instance() { echo "close_instance" >>"$PROCD_LOG"; }
procd_add_reload_trigger() { echo "reload_trigger $*" >>"$PROCD_LOG"; }
procd_add_interface_trigger() { echo "interface_trigger $*" >>"$PROCD_LOG"; }
logger() { echo "logger $*" >>"$PROCD_LOG"; }
# netifd's view: NET_DEV_<network> and NET_ADDR_<network> for networks that are up.
network_get_device() { eval "$1=\\\${NET_DEV_$2-}"; }
network_get_ipaddr() { eval "$1=\\\${NET_ADDR_$2-}"; }
`;

let b: Box;
let conf: string;
let log: string;
beforeEach(() => {
  b = box();
  conf = join(b.dir, 'var/etc/warren.toml');
  log = join(b.dir, 'procd.log');
  writeFileSync(join(b.dir, 'stubs.sh'), STUBS);
  writeFileSync(log, '');
});
afterEach(() => b.cleanup());

function shipped(): string {
  return readFileSync(DEFAULT_UCI, 'utf8').replace("option data_dir '/etc/warren'", `option data_dir '${join(b.dir, 'data')}'`);
}

/** Sources the init script after the stubs and runs start_service then service_triggers. */
function start(shell: string[], net: Record<string, string>) {
  const r = b.run(shell, ['-c', '. "$1"; . "$2"; start_service; echo "start_service=$?"; service_triggers', 'sh', join(b.dir, 'stubs.sh'), INIT], {
    PROCD_LOG: log,
    WARREN_CONF: conf,
    WARREN_RUN_DIR: join(b.dir, 'run'),
    WARREN_UCI2TOML: UCI2TOML,
    WARREN_BIN: '/usr/bin/warren',
    ...net,
  });
  const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
  return { ...r, calls, status: Number(r.stdout.match(/start_service=(\d+)/)?.[1] ?? -1) };
}

const UP = { NET_DEV_lan: 'br-lan', NET_ADDR_lan: '192.168.1.1', NET_DEV_wan: 'wan' };

for (const shell of SHELLS) {
  describe(`warren.init under ${shell.join(' ')}`, () => {
    test('starts Warren under procd on the translated config, restarted when either config changes', () => {
      b.uci('warren', shipped());
      const r = start(shell, UP);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.calls).toEqual([
        'open_instance',
        `set_param command /usr/bin/warren daemon --config ${conf}`,
        'set_param env BUN_JSC_useFTLJIT=0',
        `set_param file ${conf} /etc/config/warren`,
        'set_param respawn 3600 5 0',
        'set_param stdout 1',
        'set_param stderr 1',
        'close_instance',
        'reload_trigger warren',
        'interface_trigger interface.*.up lan /etc/init.d/warren reload',
      ]);
      expect(statSync(conf).mode & 0o777).toBe(0o600);
      expect(statSync(join(b.dir, 'data')).mode & 0o777).toBe(0o700);
      expect(existsSync(`${conf}.new`)).toBe(false);
      const first = firstRunOf(conf);
      expect(first?.admin.listen).toBe('192.168.1.1:8080');
      expect(first?.lan).toBe('br-lan');
    });

    test('a WAN that is down: its device comes from /etc/config/network', () => {
      b.uci('warren', shipped());
      b.uci('network', "config interface 'wan'\n\toption device 'eth0.2'\n\toption proto 'dhcp'\n");
      const r = start(shell, { NET_DEV_lan: 'br-lan', NET_ADDR_lan: '192.168.1.1' });
      expect(r.status).toBe(0);
      expect(readFileSync(conf, 'utf8')).toContain('wan = "eth0.2"');
    });

    test('other networks named in UCI are used for the LAN and WAN', () => {
      b.uci('warren', `${shipped()}`.replace("option lan 'lan'", "option lan 'guest'").replace("option wan 'wan'", "option wan 'wwan'"));
      const r = start(shell, { NET_DEV_guest: 'br-guest', NET_ADDR_guest: '192.168.3.1', NET_DEV_wwan: 'phy0-sta0' });
      expect(r.status).toBe(0);
      const toml = readFileSync(conf, 'utf8');
      expect(toml).toContain('lan = "br-guest"');
      expect(toml).toContain('wan = "phy0-sta0"');
      expect(toml).toContain('listen = "192.168.3.1:8080"');
      expect(r.calls).toContain('interface_trigger interface.*.up guest /etc/init.d/warren reload');
    });

    test('disabled: nothing is started', () => {
      b.uci('warren', shipped().replace("option enabled '1'", "option enabled '0'"));
      const r = start(shell, UP);
      expect(r.status).toBe(0);
      expect(r.calls.filter((c) => !c.includes('trigger'))).toEqual([]);
      expect(existsSync(conf)).toBe(false);
    });

    test('a LAN without an address yet: waits for the interface trigger, says so', () => {
      b.uci('warren', shipped());
      const r = start(shell, { NET_DEV_lan: 'br-lan', NET_DEV_wan: 'wan' });
      expect(r.status).toBe(0);
      expect(r.calls).not.toContain('open_instance');
      expect(r.calls[0]).toBe("logger -t warren network 'lan' has no IPv4 address yet; Warren starts when it is up");
    });

    test('an option uci2toml refuses: not started, no config left behind, the reason logged', () => {
      b.uci('warren', shipped().replace("option kill_switch 'on'", "option kill_switch 'later'"));
      const r = start(shell, UP);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('main.kill_switch: "later" is not one of: on always');
      expect(r.calls).not.toContain('open_instance');
      expect(r.calls).toContain('logger -t warren /etc/config/warren could not be translated (see above); not starting');
      expect(existsSync(conf)).toBe(false);
      expect(existsSync(`${conf}.new`)).toBe(false);
    });

    test("warns when OpenWrt's dnsmasq still answers DNS beside Warren's, not when it leaves DNS to it", () => {
      b.uci('warren', shipped());
      b.uci('dhcp', "config dnsmasq\n\toption domainneeded '1'\n");
      expect(start(shell, UP).calls.some((c) => c.includes("OpenWrt's dnsmasq also answers DNS"))).toBe(true);
      writeFileSync(log, '');
      b.uci('dhcp', "config dnsmasq\n\toption port '0'\n");
      expect(start(shell, UP).calls.some((c) => c.includes("OpenWrt's dnsmasq"))).toBe(false);
    });
  });
}
