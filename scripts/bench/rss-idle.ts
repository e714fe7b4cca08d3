/**
 * An idle appliance's memory: two Warren nodes, one ping through the tunnel, 2 s of quiet, then
 * the receiving node's VmRSS and how it splits (anonymous, file-backed, shared memory), as the
 * tunnel bench reads it. RUNS=n repeats (fresh daemons each time).
 *
 * Run as root: node_modules/.bin/bun scripts/bench/rss-idle.ts
 */
import { readFileSync } from 'node:fs';
import { Lab } from '../../test/netns/lib/netns.ts';
import { startWarren } from '../../test/netns/lib/warren.ts';
import { genKeyPair } from '../../test/netns/lib/wireguard-go.ts';

const field = (pid: number, file: string, name: string): number => {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
  return m ? Number(m[1]) : NaN;
};

const lab = await Lab.create('rss');
try {
  const a = await lab.ns('a');
  const b = await lab.ns('b');
  await lab.veth(a, b, { a: '192.168.77.1/24', b: '192.168.77.2/24' });
  for (let run = 0; run < Number(process.env.RUNS ?? 1); run++) {
    const [ka, kb] = [await genKeyPair(), await genKeyPair()];
    const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
    const common = { wire: 'native' as const, networkSecret: secret, mtu: 1440 };
    const port = 51820 + run * 2;
    const nb = await startWarren(lab, b, { ...common, name: `b${run}`, privateKey: kb.privateKey, listenPort: port + 1, addresses: [`10.99.${run + 1}.2/24`], peers: [{ name: 'a', publicKey: ka.publicKey, allowedIps: [`10.99.${run + 1}.1/32`] }] });
    const na = await startWarren(lab, a, { ...common, name: `a${run}`, privateKey: ka.privateKey, listenPort: port, addresses: [`10.99.${run + 1}.1/24`], peers: [{ name: 'b', publicKey: kb.publicKey, endpoint: `192.168.77.2:${port + 1}`, allowedIps: [`10.99.${run + 1}.2/32`] }] });
    await lab.exec(a, ['ping', '-c', '1', '-w', '15', `10.99.${run + 1}.2`], { timeoutMs: 20_000 });
    await Bun.sleep(2000);
    const pid = nb.proc.pid;
    const kb2mb = (v: number) => (v / 1024).toFixed(1);
    console.log(`idle RSS ${kb2mb(field(pid, 'status', 'VmRSS'))} MB: anonymous ${kb2mb(field(pid, 'status', 'RssAnon'))}, file ${kb2mb(field(pid, 'status', 'RssFile'))}, shared memory ${kb2mb(field(pid, 'status', 'RssShmem'))}`);
    await na.stop();
    await nb.stop();
  }
} finally {
  await lab.cleanup();
}
