// Crash-safety helper: rewrites the network file and the settings file as fast as it can, each
// version a little different, until it is killed. Prints "ready" once it has written both twice
// (so each has a last good copy: the first write has none to keep).
import { join } from 'node:path';
import { approve, createNetwork, saveNetwork } from '../../../appliance/network/store.ts';
import { emptySettings, saveSettings } from '../../../appliance/admin/settings.ts';

const dir = process.argv[2]!;
let net = { ...createNetwork('crash', () => new Uint8Array(32).fill(7)), requireApproval: false };
let n = 0;
let said = false;
for (;;) {
  n++;
  const key = Buffer.from(new Uint8Array(32).fill(n % 251)).toString('base64');
  net = approve(net, key, new Date(), `device ${n}`);
  if (net.approved.length > 40) net = { ...net, approved: net.approved.slice(-20) };
  saveNetwork(join(dir, 'network.toml'), net);
  const settings = emptySettings();
  settings.devices = Object.fromEntries(Array.from({ length: n % 30 }, (_, i) => [`02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, { policy: 'block' as const, exit: 'best' }]));
  saveSettings(join(dir, 'settings.json'), settings);
  if (!said && n >= 2) {
    said = true;
    console.log('ready');
  }
}
