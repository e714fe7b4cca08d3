// The first-run wizard. Step 1 (/setup, public) exists only while no admin password does: once
// one is set it redirects, and its POST is refused, so nobody on the LAN can replace the owner's
// password through it. Two racing first posts cannot both win: the first holds a lock until its
// hash is stored. Step 2 (/setup/network, signed in) creates or joins a network; the wizard then
// ends on the dashboard.

import { Elysia, t } from 'elysia';
import { MIN_PASSWORD_LENGTH } from '../admin-store.ts';
import type { AdminDeps } from '../deps.ts';
import { messageFor, statusFor } from '../errors.ts';
import { htmlResponse, seeOther } from '../html.ts';
import { anonymousSession, findSession, signedIn, signIn } from '../plugins/auth.ts';
import { CreateNetworkBody, Csrf, JoinNetworkBody, NoQuery, SetupPasswordBody } from '../schemas.ts';

/** A photo of an invite's QR code (the phone's camera through a file input: it works on a plain-http LAN page). */
const JoinPhotoBody = t.Object({ _csrf: Csrf, photo: t.File({ maxSize: '12m' }) });
import { setupNetworkPage, setupPasswordPage } from '../views/setup.ts';

/** Why a new password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, confirm: string): string | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `The password is too short: use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password !== confirm) return 'The two passwords differ. Type the same password twice.';
  return null;
}

export function setupRoutes(deps: AdminDeps) {
  let settingFirstPassword = false;
  return new Elysia()
    .get(
      '/setup',
      ({ request }) => {
        if (deps.store.hasPassword()) return seeOther(findSession(deps, request)?.authenticated ? '/setup/network' : '/login');
        const { session, setCookie } = anonymousSession(deps, request);
        return htmlResponse(setupPasswordPage(session.csrf), 200, setCookie);
      },
      { query: NoQuery },
    )
    .post(
      '/setup',
      async ({ request, body }) => {
        if (deps.store.hasPassword() || settingFirstPassword) {
          return htmlResponse(setupPasswordPage('', 'A password is already set. Sign in with it instead.'), 403);
        }
        const { session } = anonymousSession(deps, request);
        const problem = passwordProblem(body.password, body.confirm);
        if (problem) return htmlResponse(setupPasswordPage(session.csrf, problem), 400);
        settingFirstPassword = true;
        try {
          await deps.store.setPassword(body.password);
        } finally {
          settingFirstPassword = false;
        }
        const { cookie } = signIn(deps, request);
        return seeOther('/setup/network', { 'set-cookie': cookie });
      },
      { body: SetupPasswordBody },
    )
    .get(
      '/setup/network',
      async ({ request }) => {
        const session = signedIn(deps, request);
        if ((await deps.api.network()).hasNetwork) return seeOther('/');
        return htmlResponse(setupNetworkPage(session.csrf));
      },
      { query: NoQuery },
    )
    .post(
      '/setup/create',
      async ({ request, body }) => {
        try {
          await deps.api.createNetwork(body.name);
          return seeOther('/');
        } catch (e) {
          return htmlResponse(setupNetworkPage(signedIn(deps, request).csrf, messageFor(e), { name: body.name }), statusFor(e));
        }
      },
      { body: CreateNetworkBody },
    )
    .post(
      '/setup/join',
      async ({ request, body }) => {
        try {
          await deps.api.joinNetwork(body.invite);
          return seeOther('/');
        } catch (e) {
          return htmlResponse(setupNetworkPage(signedIn(deps, request).csrf, messageFor(e), { invite: body.invite }), statusFor(e));
        }
      },
      { body: JoinNetworkBody },
    )
    .post(
      '/setup/join-photo',
      async ({ request, body }) => {
        try {
          await deps.api.joinNetworkPhoto(new Uint8Array(await body.photo.arrayBuffer()));
          return seeOther('/');
        } catch (e) {
          return htmlResponse(setupNetworkPage(signedIn(deps, request).csrf, messageFor(e)), statusFor(e));
        }
      },
      { body: JoinPhotoBody },
    );
}
