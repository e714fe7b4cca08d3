// An invite read from a photo of its QR code: the first-run page's "take a photo" (a file input
// with the camera, which works on a plain-http LAN page where a live camera would not). The
// image is decoded here, on the appliance: PNG (pngjs) or JPEG (jpeg-js), then the QR code found
// with jsQR. Nothing else is accepted, and sizes are capped before any decoding.

import jsQR from 'jsqr';
import { InviteError } from './invite.ts';

/** The largest photo taken (a phone's JPEG is 2–6 MB). */
export const MAX_IMAGE_BYTES = 12 * 1024 * 1024;
/** Decoded pixels at most (a 12-megapixel photo); larger images are refused before decoding. */
export const MAX_PIXELS = 16_000_000;
/** Photos are scaled down to about this many pixels on the long side before the QR search. */
const SEARCH_SIDE = 1600;

interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

function isPng(b: Uint8Array): boolean {
  return b.length > 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

function isJpeg(b: Uint8Array): boolean {
  return b.length > 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/** Width × height from a PNG's IHDR, before decoding it. */
function pngSize(b: Uint8Array): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(16) * v.getUint32(20);
}

async function decode(bytes: Uint8Array): Promise<Rgba> {
  if (isPng(bytes)) {
    if (pngSize(bytes) > MAX_PIXELS) throw new InviteError('malformed', 'the picture is too large; take it again at a lower resolution');
    const { PNG } = await import('pngjs');
    const png = PNG.sync.read(Buffer.from(bytes));
    return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
  }
  if (isJpeg(bytes)) {
    const jpeg = await import('jpeg-js');
    const img = jpeg.decode(Buffer.from(bytes), { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 256 });
    return { width: img.width, height: img.height, data: img.data };
  }
  throw new InviteError('not-invite', 'that file is not a photo (PNG or JPEG) of an invite’s QR code');
}

/** Nearest-neighbour scaling to at most SEARCH_SIDE on the long side (QR modules stay many pixels wide). */
function shrink(img: Rgba): Rgba {
  const f = Math.max(img.width, img.height) / SEARCH_SIDE;
  if (f <= 1) return img;
  const width = Math.max(1, Math.floor(img.width / f));
  const height = Math.max(1, Math.floor(img.height / f));
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor(y * f));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor(x * f));
      const s = (sy * img.width + sx) * 4;
      const d = (y * width + x) * 4;
      data[d] = img.data[s]!;
      data[d + 1] = img.data[s + 1]!;
      data[d + 2] = img.data[s + 2]!;
      data[d + 3] = 255;
    }
  }
  return { width, height, data };
}

/**
 * The text of the QR code in a photo (PNG or JPEG). Throws an InviteError a person can act on
 * when the file is not a picture, too large, or shows no QR code; the caller decodes the text
 * as an invite.
 */
export async function inviteTextFromImage(bytes: Uint8Array): Promise<string> {
  if (bytes.length === 0) throw new InviteError('empty', 'no picture was sent');
  if (bytes.length > MAX_IMAGE_BYTES) throw new InviteError('malformed', `the picture is over ${MAX_IMAGE_BYTES / 1024 / 1024} MB; take it again at a lower resolution`);
  let img: Rgba;
  try {
    img = shrink(await decode(bytes));
  } catch (e) {
    if (e instanceof InviteError) throw e;
    throw new InviteError('malformed', 'the picture could not be read (a damaged or unusual file); take it again');
  }
  const code = jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height, { inversionAttempts: 'attemptBoth' });
  if (!code || !code.data) throw new InviteError('not-invite', 'no QR code was found in the picture: hold the camera closer, square to the code, and try again');
  return code.data;
}
