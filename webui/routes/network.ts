// The network page: the invite on request (text and QR code), approving, denying and revoking
// members (each answers with the re-rendered member lists), and rotating the secret (answered
// with its form, and the invite hidden again: a shown one would be the old).

import { Elysia } from 'elysia';
import type { NetworkInfo } from '../api.ts';
import type { AdminDeps } from '../deps.ts';
import { messageFor, statusFor } from '../errors.ts';
import { hiddenInvite, inviteFragment } from '../fragments/invite.ts';
import { membersSection } from '../fragments/members.ts';
import { rotationDone, rotationForm } from '../fragments/rotation.ts';
import { html, htmlResponse, seeOther } from '../html.ts';
import { signedIn } from '../plugins/auth.ts';
import { MemberBody, NoQuery, RotateBody } from '../schemas.ts';
import { notice } from '../views/layout.ts';
import { networkPage } from '../views/network.ts';

type MemberAction = 'approve' | 'deny' | 'revoke';
const DONE: Record<MemberAction, string> = { approve: 'Approved.', deny: 'Denied.', revoke: 'Revoked: that device is cut off.' };

export function networkRoutes(deps: AdminDeps) {
  const act = (action: MemberAction) => async ({ body }: { body: { key: string } }) => {
    let net: NetworkInfo;
    try {
      net = await deps.api[action](body.key);
    } catch (e) {
      // Keep the 200 so htmx swaps the lists in: they show the error and the current state.
      return htmlResponse(membersSection(await deps.api.network(), notice('error', messageFor(e))), statusFor(e) === 500 ? 500 : 200);
    }
    return htmlResponse(membersSection(net, notice('ok', DONE[action])));
  };
  const rotate = async ({ body }: { body: { graceHours: string } }) => {
    let net: NetworkInfo;
    try {
      net = await deps.api.rotateSecret(Number(body.graceHours));
    } catch (e) {
      return htmlResponse(rotationForm(await deps.api.network(), notice('error', messageFor(e))), statusFor(e) === 500 ? 500 : 200);
    }
    return htmlResponse(html`${rotationForm(net, notice('ok', rotationDone(net)))}${hiddenInvite(true)}`);
  };
  return new Elysia()
    .get(
      '/network',
      async ({ request }) => {
        const net = await deps.api.network();
        if (!net.hasNetwork) return seeOther('/setup/network');
        return htmlResponse(networkPage(signedIn(deps, request).csrf, net));
      },
      { query: NoQuery },
    )
    .get(
      '/network/invite',
      async () => {
        try {
          return htmlResponse(await inviteFragment(await deps.api.invite()));
        } catch (e) {
          return htmlResponse(notice('error', messageFor(e)), statusFor(e));
        }
      },
      { query: NoQuery },
    )
    .get('/network/invite/hide', () => htmlResponse(hiddenInvite()), { query: NoQuery })
    .post('/network/approve', act('approve'), { body: MemberBody })
    .post('/network/deny', act('deny'), { body: MemberBody })
    .post('/network/revoke', act('revoke'), { body: MemberBody })
    .post('/network/rotate', rotate, { body: RotateBody });
}
