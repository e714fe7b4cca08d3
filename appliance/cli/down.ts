// `warren down`: stops the running daemon (over the control socket) and removes what it set up
// in the kernel — its nftables table, policy rules and routes — which a plain stop or a crash
// deliberately leaves, so the kill switch holds while Warren is down.

import type { Config } from '../config/schema.ts';
import { queryControl } from '../control/server.ts';
import { teardown } from '../gateway/gateway.ts';
import { systemRunner } from '../system/runner.ts';

const STOP_WAIT_MS = 10_000;

export async function warrenDown(config: Config, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const socket = config.control.socket;
  const running = await queryControl(socket, 'shutdown', 'POST').then(() => true, () => false);
  if (running) {
    const deadline = Date.now() + STOP_WAIT_MS;
    while (Date.now() < deadline && (await queryControl(socket, 'status').then(() => true, () => false))) await Bun.sleep(100);
    // The socket answering no more is not the process gone: give it the moment its exit takes.
    await Bun.sleep(300);
    out('warren: the daemon stopped');
  } else {
    out('warren: no daemon answered; removing what a stopped or crashed one left');
  }
  const { keptKillSwitch } = teardown(config, systemRunner);
  out(keptKillSwitch
    ? 'warren: rules and routes removed; the kill switch stays (gateway.kill_switch = "always"): the LAN has no internet until Warren runs again'
    : 'warren: firewall table, rules and routes removed');
  return 0;
}
