// The owner's traffic first, on an exit's uplink (README "Fair sharing"): when `exit.wan_mbit`
// says how fast the uplink really is, Warren shapes what leaves the WAN to that rate with HTB
// and two classes — the owner's (the default: everything the appliance and its LAN send) and
// members' (what nft gives priority 5741:20: traffic out of the TUN and the circuit TUN). The
// owner's class borrows first; members are guaranteed a tenth. Shaping below the real rate is
// what moves the queue from the modem (where nobody can prioritise) to here.
//
// Only Warren's own root qdisc (handle 5741:) is ever replaced or removed.

import type { Runner } from './runner.ts';

export const QDISC_HANDLE = '5741:';
/** skb priority nft sets on members' packets: HTB class 5741:20. */
export const MEMBERS_CLASS = '5741:20';

export function shapingCommands(wan: string, mbit: number): string[][] {
  const rate = (m: number) => `${Math.max(1, Math.round(m * 1000))}kbit`;
  return [
    ['tc', 'qdisc', 'replace', 'dev', wan, 'root', 'handle', QDISC_HANDLE, 'htb', 'default', '10', 'r2q', '100'],
    ['tc', 'class', 'replace', 'dev', wan, 'parent', QDISC_HANDLE, 'classid', '5741:1', 'htb', 'rate', rate(mbit)],
    ['tc', 'class', 'replace', 'dev', wan, 'parent', '5741:1', 'classid', '5741:10', 'htb', 'rate', rate(mbit * 0.9), 'ceil', rate(mbit), 'prio', '0'],
    ['tc', 'class', 'replace', 'dev', wan, 'parent', '5741:1', 'classid', MEMBERS_CLASS, 'htb', 'rate', rate(mbit * 0.1), 'ceil', rate(mbit), 'prio', '1'],
  ];
}

/** Shapes `wan` to `mbit` (0: removes Warren's shaping, if it is there). */
export function applyShaping(run: Runner, wan: string, mbit: number): void {
  if (mbit <= 0) {
    removeShaping(run, wan);
    return;
  }
  for (const argv of shapingCommands(wan, mbit)) run(argv);
}

export function removeShaping(run: Runner, wan: string): void {
  const shown = run(['tc', 'qdisc', 'show', 'dev', wan], { allowFail: true }).stdout;
  if (new RegExp(`qdisc htb ${QDISC_HANDLE} root`).test(shown)) run(['tc', 'qdisc', 'del', 'dev', wan, 'root', 'handle', QDISC_HANDLE], { allowFail: true });
}
