// Invites read from photos of their QR codes (first-run page, "take a photo"), and pictures that
// must be refused with a sentence: not an image, no QR code, too large, damaged.

import { describe, expect, test } from 'bun:test';
import QRCode from 'qrcode';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { inviteTextFromImage, MAX_IMAGE_BYTES } from '../../../appliance/network/invite-image.ts';
import { decodeInvite, encodeInvite } from '../../../appliance/network/invite.ts';
import { createNetwork, rotateNetwork } from '../../../appliance/network/store.ts';

const net = rotateNetwork(createNetwork('Familie Müller'), new Date(), 3600_000);
const invite = encodeInvite(net.name, net.secret, net.addressSecret);

async function qrPng(text: string, scale = 8): Promise<Uint8Array> {
  return new Uint8Array(await QRCode.toBuffer(text.toUpperCase(), { type: 'png', errorCorrectionLevel: 'M', scale, margin: 4 }));
}

/** The QR code as a phone photo might look: on a grey page, larger, slightly noisy, as JPEG. */
function asPhoto(png: Uint8Array): Uint8Array {
  const src = PNG.sync.read(Buffer.from(png));
  const width = src.width * 3;
  const height = src.height * 2;
  const data = Buffer.alloc(width * height * 4);
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) % 24;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = (y * width + x) * 4;
      const sx = x - src.width;
      const sy = y - Math.floor(src.height / 2);
      const inside = sx >= 0 && sy >= 0 && sx < src.width && sy < src.height;
      const v = inside ? src.data[(sy * src.width + sx) * 4]! : 170;
      const g = Math.min(255, Math.max(0, v === 0 ? 30 + noise() : v - noise()));
      data[d] = g;
      data[d + 1] = g;
      data[d + 2] = g;
      data[d + 3] = 255;
    }
  }
  return new Uint8Array(jpeg.encode({ data, width, height }, 85).data);
}

describe('invites from photos of their QR codes', () => {
  test('a PNG of the QR code gives the invite back', async () => {
    const text = await inviteTextFromImage(await qrPng(invite));
    const back = decodeInvite(text);
    expect(Buffer.from(back.secret).equals(Buffer.from(net.secret))).toBe(true);
    expect(Buffer.from(back.addressSecret).equals(Buffer.from(net.addressSecret))).toBe(true);
  });

  test('a noisy JPEG photo with the code off-centre on a grey page gives it too', async () => {
    const photo = asPhoto(await qrPng(invite, 6));
    expect(photo[0]).toBe(0xff);
    expect(decodeInvite(await inviteTextFromImage(photo)).name).toBe('Familie Müller');
  });

  test('refused with a sentence: nothing, not a picture, a picture without a code, damaged, too large', async () => {
    const reason = async (b: Uint8Array) => {
      try {
        await inviteTextFromImage(b);
        return 'accepted';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(await reason(new Uint8Array(0))).toMatch(/no picture/);
    expect(await reason(new TextEncoder().encode(invite))).toMatch(/not a photo/);
    expect(await reason(crypto.getRandomValues(new Uint8Array(5000)))).toMatch(/not a photo/);
    const blank = new PNG({ width: 200, height: 200 });
    blank.data.fill(255);
    expect(await reason(new Uint8Array(PNG.sync.write(blank)))).toMatch(/no QR code/);
    const png = await qrPng(invite);
    // Cut in half: unreadable, or (when the cut leaves whole rows) read with half the code gone.
    expect(await reason(png.slice(0, png.length / 2))).toMatch(/could not be read|no QR code/);
    const jpg = asPhoto(png);
    expect(await reason(jpg.slice(0, 600))).toMatch(/could not be read|no QR code/);
    // A PNG header promising 100,000 × 100,000 pixels is refused before any decoding.
    const huge = png.slice();
    new DataView(huge.buffer).setUint32(16, 100_000);
    new DataView(huge.buffer).setUint32(20, 100_000);
    expect(await reason(huge)).toMatch(/too large/);
    expect(await reason(new Uint8Array(MAX_IMAGE_BYTES + 1))).toMatch(/over 12 MB/);
  });
});
