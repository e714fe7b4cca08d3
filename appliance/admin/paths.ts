// Where the admin's files are, for a config: a module of its own, so the appliance knows them at
// start without loading the admin (appliance/cli/appliance.ts loads that when first used).

import { dirname, join } from 'node:path';
import { DEFAULT_CONTROL_SOCKET, type Config } from '../config/schema.ts';
import { DEFAULT_DATA_DIR } from '../network/setup.ts';
import { SETTINGS_FILE } from './settings.ts';

export interface AdminPaths {
  dataDir: string;
  settingsPath: string;
  runDir: string;
  lan: string | null;
}

/**
 * Where the admin's files are for a config: the data directory is the network file's (else
 * /var/lib/warren), dnsmasq's leases are in the control socket's directory (as the gateway puts
 * them), the LAN is the gateway's.
 */
export function adminPaths(config: Config | null): AdminPaths {
  const dataDir = config?.network?.file ? dirname(config.network.file) : DEFAULT_DATA_DIR;
  return { dataDir, settingsPath: join(dataDir, SETTINGS_FILE), runDir: dirname(config?.control.socket ?? DEFAULT_CONTROL_SOCKET), lan: config?.gateway?.lan ?? null };
}

