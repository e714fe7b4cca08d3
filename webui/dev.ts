// The dev preview: the admin on 127.0.0.1 with the fake API and a throw-away state directory.
//   node_modules/.bin/bun webui/dev.ts [--port 8080] [--with-network]
// Opens at the first-run wizard (or, with --with-network, a network already set up).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdmin } from './app.ts';
import { FakeAdminApi } from './fake-api.ts';

const args = process.argv.slice(2);
const portArg = args.indexOf('--port');
const port = portArg >= 0 ? Number(args[portArg + 1]) : 8080;
const stateDir = mkdtempSync(join(tmpdir(), 'warren-admin-'));
const admin = createAdmin({ api: new FakeAdminApi({ withNetwork: args.includes('--with-network') }), hostname: '127.0.0.1', port, stateDir });
console.log(`Warren admin (fake API) at ${admin.url}/ — state in ${stateDir}; Ctrl-C stops it`);
process.on('SIGINT', () => void admin.stop().then(() => process.exit(0)));
