// The first-run wizard: step 1 sets the admin password, step 2 creates a network or joins one
// with an invite; then the dashboard.

import { MIN_PASSWORD_LENGTH } from '../admin-store.ts';
import { html, type Html } from '../html.ts';
import { layout, notice } from './layout.ts';

function steps(current: 1 | 2): Html {
  return html`<ol class="steps" aria-label="Setup steps">
  <li${current === 1 ? html` aria-current="step"` : ''}>Password</li>
  <li${current === 2 ? html` aria-current="step"` : ''}>Network</li>
  <li>Done</li>
</ol>`;
}

export function setupPasswordPage(csrf: string, error: string | null = null): Html {
  return layout(
    { title: 'Welcome', csrf },
    html`<section class="card narrow">
  ${steps(1)}
  <h1>Welcome to Warren</h1>
  <p>Choose the password that protects this admin page. Anyone on your home network who knows it can change how your traffic is routed.</p>
  ${error ? notice('error', error) : ''}
  <form method="post" action="/setup" class="stack">
    <input type="hidden" name="_csrf" value="${csrf}">
    <label>New password <input type="password" name="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" maxlength="256" autofocus></label>
    <label>Repeat it <input type="password" name="confirm" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" maxlength="256"></label>
    <p class="hint">At least ${MIN_PASSWORD_LENGTH} characters. A few unrelated words make a good one.</p>
    <button type="submit">Set password</button>
  </form>
</section>`,
  );
}

export function setupNetworkPage(csrf: string, error: string | null = null, values: { name?: string; invite?: string } = {}): Html {
  return layout(
    { title: 'Your network', csrf },
    html`<section class="card narrow">
  ${steps(2)}
  <h1>Your network</h1>
  <p>A network is the group of Warren appliances that trust each other — yours and your family’s or friends’. Start a new one, or join one with an invite from its owner.</p>
  ${error ? notice('error', error) : ''}
  <div class="choices">
    <form method="post" action="/setup/create" class="stack choice">
      <h2>Create a network</h2>
      <input type="hidden" name="_csrf" value="${csrf}">
      <label>Network name <input type="text" name="name" required maxlength="32" placeholder="e.g. family" value="${values.name ?? ''}"></label>
      <button type="submit">Create network</button>
    </form>
    <form method="post" action="/setup/join" class="stack choice">
      <h2>Join with an invite</h2>
      <input type="hidden" name="_csrf" value="${csrf}">
      <label>Invite <textarea name="invite" rows="3" required maxlength="1024" placeholder="warren1:…" spellcheck="false">${values.invite ?? ''}</textarea></label>
      <button type="submit">Join network</button>
    </form>
    <form method="post" action="/setup/join-photo" enctype="multipart/form-data" class="stack choice">
      <h2>Or scan its QR code</h2>
      <input type="hidden" name="_csrf" value="${csrf}">
      <p class="hint">On a phone this opens the camera: take a photo of the invite’s QR code, square and close. A picture file works too.</p>
      <label>Photo of the QR code <input type="file" name="photo" accept="image/png,image/jpeg" capture="environment" required></label>
      <button type="submit">Join with the photo</button>
    </form>
  </div>
</section>`,
  );
}
