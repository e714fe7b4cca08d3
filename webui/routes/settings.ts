// Privacy settings, the admin password change and the exit offer. Each form answers with itself,
// showing what was saved or what to fix.

import { Elysia } from 'elysia';
import type { Hops } from '../api.ts';
import type { AdminDeps } from '../deps.ts';
import { messageFor, statusFor } from '../errors.ts';
import { privacyForm } from '../fragments/privacy-form.ts';
import { exitOfferForm, passwordForm } from '../fragments/settings-forms.ts';
import { htmlResponse } from '../html.ts';
import { signedIn, signIn } from '../plugins/auth.ts';
import { clientKey } from '../plugins/rate-limit.ts';
import { ExitOfferBody, NoQuery, PasswordChangeBody, PrivacyBody, SettingsQuery } from '../schemas.ts';
import { notice } from '../views/layout.ts';
import { privacyPage, settingsPage } from '../views/settings.ts';
import { passwordProblem } from './setup.ts';

export function settingsRoutes(deps: AdminDeps) {
  return new Elysia()
    .get(
      '/privacy',
      async ({ request }) => {
        const [settings, peers] = await Promise.all([deps.api.privacy(), deps.api.peers()]);
        return htmlResponse(privacyPage(signedIn(deps, request).csrf, settings, peers));
      },
      { query: NoQuery },
    )
    .post(
      '/privacy',
      async ({ body }) => {
        const peers = await deps.api.peers();
        const wanted = { hops: Number(body.hops) as Hops, exit: body.exit, killSwitch: body.killSwitch, dns: body.dns, padding: body.padding };
        try {
          return htmlResponse(privacyForm(await deps.api.setPrivacy(wanted), peers, notice('ok', 'Saved. New connections use these settings.')));
        } catch (e) {
          return htmlResponse(privacyForm(await deps.api.privacy(), peers, notice('error', messageFor(e))), statusFor(e) === 500 ? 500 : 200);
        }
      },
      { body: PrivacyBody },
    )
    .get(
      '/settings',
      async ({ request, query }) => htmlResponse(settingsPage(signedIn(deps, request).csrf, await deps.api.exitOffer(), query.changed === 'password')),
      { query: SettingsQuery },
    )
    .post(
      '/settings/password',
      async ({ request, body, server }) => {
        const client = clientKey(server?.requestIP(request)?.address);
        if (!(await deps.store.verify(body.current))) {
          deps.limiter.fail(client);
          return htmlResponse(passwordForm(notice('error', 'The current password is not right; nothing was changed.')));
        }
        deps.limiter.succeed(client);
        const problem = passwordProblem(body.password, body.confirm);
        if (problem) return htmlResponse(passwordForm(notice('error', problem)));
        await deps.store.setPassword(body.password);
        // Every other browser is signed out; this one gets a fresh session, and a new CSRF
        // token with it, which the page picks up when htmx loads it again.
        deps.sessions.destroyAll();
        const { cookie } = signIn(deps, request);
        return htmlResponse(passwordForm(), 200, { 'set-cookie': cookie, 'hx-redirect': '/settings?changed=password' });
      },
      { body: PasswordChangeBody },
    )
    .post(
      '/settings/exit-offer',
      async ({ body }) => {
        const wanted = { enabled: body.enabled === 'on', acceptRisk: body.acceptRisk === 'on' };
        if (wanted.enabled && !wanted.acceptRisk) {
          return htmlResponse(exitOfferForm(await deps.api.exitOffer(), notice('error', 'Tick the warning box first: an exit sends other members’ traffic out from your address.')), 200);
        }
        try {
          return htmlResponse(exitOfferForm(await deps.api.setExitOffer(wanted), notice('ok', wanted.enabled ? 'This home now offers an exit.' : 'This home offers no exit.')));
        } catch (e) {
          return htmlResponse(exitOfferForm(await deps.api.exitOffer(), notice('error', messageFor(e))), statusFor(e) === 500 ? 500 : 200);
        }
      },
      { body: ExitOfferBody },
    );
}
