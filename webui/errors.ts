// How failures from the API reach the owner: an AdminError's message (written for people) with
// a fitting status; anything else is logged by the caller and shown as a generic failure.

import { AdminError } from './api.ts';

export function statusFor(e: unknown): number {
  if (!(e instanceof AdminError)) return 500;
  switch (e.kind) {
    case 'invalid':
      return 400;
    case 'not-found':
      return 404;
    case 'conflict':
      return 409;
    case 'unavailable':
      return 503;
  }
}

export function messageFor(e: unknown): string {
  if (e instanceof AdminError) return e.message;
  return 'Warren could not do that just now. Try again; if it keeps failing, download a support bundle from Diagnostics.';
}
