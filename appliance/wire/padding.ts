// Padding of native data messages, so sizes say less about what is inside.
//   off     no padding (the plaintext is the IP packet; fastest, sizes leak)
//   bucket  up to the next of a few sizes (small, medium, full), capped at the MTU
//   mtu     every packet padded to the MTU (most private, most bandwidth)
// The IP header gives the packet's real length on receipt, so padding needs no length field.

export type PaddingMode = 'off' | 'bucket' | 'mtu';
export const PADDING_MODES: readonly PaddingMode[] = ['off', 'bucket', 'mtu'];
const BUCKETS = [128, 256, 512, 1024];

export function paddedSize(mode: PaddingMode, len: number, mtu: number): number {
  if (mode === 'off') return len;
  if (mode === 'mtu') return Math.max(len, mtu);
  for (const b of BUCKETS) if (len <= b && b <= mtu) return b;
  return Math.max(len, mtu);
}
