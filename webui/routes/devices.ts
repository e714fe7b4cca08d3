// LAN devices: the page, and the in-place policy change (answers with the device's card).

import { Elysia } from 'elysia';
import { BEST_EXIT } from '../api.ts';
import type { AdminDeps } from '../deps.ts';
import { messageFor, statusFor } from '../errors.ts';
import { deviceCard } from '../fragments/device.ts';
import { htmlResponse } from '../html.ts';
import { signedIn } from '../plugins/auth.ts';
import { DeviceBody, DeviceParams, NoQuery } from '../schemas.ts';
import { devicesPage } from '../views/devices.ts';
import { notice } from '../views/layout.ts';

export function devicesRoutes(deps: AdminDeps) {
  return new Elysia()
    .get(
      '/devices',
      async ({ request }) => {
        const [devices, peers, ports] = await Promise.all([deps.api.devices(), deps.api.peers(), deps.api.ports()]);
        return htmlResponse(devicesPage(signedIn(deps, request).csrf, devices, peers, ports));
      },
      { query: NoQuery },
    )
    .post(
      '/devices/:mac',
      async ({ params, body }) => {
        const mac = params.mac.toLowerCase();
        const [devices, peers] = await Promise.all([deps.api.devices(), deps.api.peers()]);
        const before = devices.find((d) => d.mac === mac);
        // A disabled <select> is not posted: the exit stays what it was.
        const exit = body.exit ?? before?.exit ?? BEST_EXIT;
        const hopsText = body.hops ?? (before?.hops ? String(before.hops) : 'default');
        const hops = hopsText === 'default' ? undefined : (Number(hopsText) as 1 | 2 | 3);
        try {
          const device = await deps.api.setDevicePolicy(mac, { policy: body.policy, exit, ...(hops ? { hops } : {}) });
          return htmlResponse(deviceCard(device, peers, notice('ok', 'Saved.')));
        } catch (e) {
          if (!before) return htmlResponse(notice('error', messageFor(e)), statusFor(e));
          return htmlResponse(deviceCard(before, peers, notice('error', messageFor(e))), 200);
        }
      },
      { params: DeviceParams, body: DeviceBody },
    );
}
