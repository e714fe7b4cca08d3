// TypeBox schemas for the admin's inputs, shared by the routes: bad input stops at the edge
// with 422 before a handler runs. Forms post strings, so numbers and booleans arrive as text.

import { t } from 'elysia';
import { MAX_PASSWORD_LENGTH } from './admin-store.ts';

/** A WireGuard public key: 32 bytes in standard base64. */
export const PublicKey = t.String({ pattern: '^[A-Za-z0-9+/]{43}=$', error: 'a public key is 44 characters of base64 ending in "="' });
export const Mac = t.String({ pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$', error: 'a MAC address looks like 02:00:00:00:00:01' });
export const ExitChoiceInput = t.Union([t.Literal('best'), PublicKey], { error: 'choose "best" or one of your peers' });
export const Password = t.String({ maxLength: MAX_PASSWORD_LENGTH });
export const Csrf = t.Optional(t.String({ maxLength: 128 }));
/** A checkbox: present with "on" when ticked, absent otherwise. */
export const Checkbox = t.Optional(t.Literal('on'));

export const CsrfOnlyBody = t.Object({ _csrf: Csrf });
export const LeakTestBody = t.Object({ _csrf: Csrf, run: t.Literal('1') });
export const LoginBody = t.Object({ _csrf: Csrf, password: Password });
export const SetupPasswordBody = t.Object({ _csrf: Csrf, password: Password, confirm: Password });
export const CreateNetworkBody = t.Object({ _csrf: Csrf, name: t.String({ minLength: 1, maxLength: 64 }) });
export const JoinNetworkBody = t.Object({ _csrf: Csrf, invite: t.String({ minLength: 1, maxLength: 1024 }) });
export const MemberBody = t.Object({ _csrf: Csrf, key: PublicKey });
/** How long the old secret stays accepted after a rotation, in hours: the form's choices (fragments/rotation.ts). */
export const RotateBody = t.Object({
  _csrf: Csrf,
  graceHours: t.Union([t.Literal('24'), t.Literal('168'), t.Literal('720'), t.Literal('0')], { error: 'choose 1 day, 7 days, 30 days or not at all' }),
});
export const DeviceParams = t.Object({ mac: Mac });
export const HopsInput = t.Union([t.Literal('default'), t.Literal('1'), t.Literal('2'), t.Literal('3')], { error: 'choose the default, 1, 2 or 3 hops' });
export const DeviceBody = t.Object({ _csrf: Csrf, policy: t.Union([t.Literal('overlay'), t.Literal('direct'), t.Literal('block')], { error: 'choose overlay, direct or block' }), exit: t.Optional(ExitChoiceInput), hops: t.Optional(HopsInput) });
export const PrivacyBody = t.Object({
  _csrf: Csrf,
  hops: t.Union([t.Literal('1'), t.Literal('2'), t.Literal('3')], { error: 'choose 1, 2 or 3 hops' }),
  exit: ExitChoiceInput,
  killSwitch: t.Union([t.Literal('on'), t.Literal('always')], { error: 'choose on or always' }),
  dns: t.Union([t.Literal('on'), t.Literal('off')], { error: 'choose on or off' }),
  padding: t.Union([t.Literal('off'), t.Literal('bucket'), t.Literal('mtu')], { error: 'choose off, bucket or mtu' }),
});
export const PasswordChangeBody = t.Object({ _csrf: Csrf, current: Password, password: Password, confirm: Password });
export const ExitOfferBody = t.Object({ _csrf: Csrf, enabled: Checkbox, acceptRisk: Checkbox });
export const LogQuery = t.Object({ lines: t.Optional(t.Numeric({ minimum: 1, maximum: 1000, multipleOf: 1 })) });
export const SettingsQuery = t.Object({ changed: t.Optional(t.Literal('password')) });
export const NoQuery = t.Object({});
