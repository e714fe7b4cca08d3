// Sign in and sign out. A failed password check counts against the client's limit (see
// plugins/rate-limit.ts, which refuses with 429 before this handler once it is reached).

import { Elysia } from 'elysia';
import type { AdminDeps } from '../deps.ts';
import { htmlResponse, seeOther } from '../html.ts';
import { anonymousSession, findSession, signIn, signOut } from '../plugins/auth.ts';
import { clientKey } from '../plugins/rate-limit.ts';
import { CsrfOnlyBody, LoginBody, NoQuery } from '../schemas.ts';
import { loginPage } from '../views/login.ts';

export function sessionRoutes(deps: AdminDeps) {
  return new Elysia()
    .get(
      '/login',
      ({ request }) => {
        if (!deps.store.hasPassword()) return seeOther('/setup');
        if (findSession(deps, request)?.authenticated) return seeOther('/');
        const { session, setCookie } = anonymousSession(deps, request);
        return htmlResponse(loginPage(session.csrf), 200, setCookie);
      },
      { query: NoQuery },
    )
    .post(
      '/login',
      async ({ request, body, server }) => {
        if (!deps.store.hasPassword()) return seeOther('/setup');
        const client = clientKey(server?.requestIP(request)?.address);
        if (!(await deps.store.verify(body.password))) {
          deps.limiter.fail(client);
          const { session, setCookie } = anonymousSession(deps, request);
          return htmlResponse(loginPage(session.csrf, 'That password is not right. Try again (after 5 wrong tries, wait 5 minutes).'), 401, setCookie);
        }
        deps.limiter.succeed(client);
        const { cookie } = signIn(deps, request);
        return seeOther('/', { 'set-cookie': cookie });
      },
      { body: LoginBody },
    )
    .post('/logout', ({ request }) => seeOther('/login', { 'set-cookie': signOut(deps, request) }), { body: CsrfOnlyBody });
}
