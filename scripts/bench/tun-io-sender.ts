// Child process of scripts/bench/tun-io.ts: `bun tun-io-sender.ts IP PORT SIZE MS [MAX]` floods
// IP:PORT with SIZE-byte UDP datagrams for MS milliseconds (or until MAX are sent) and prints how
// many it sent.
import { cc } from 'bun:ffi';

const [ip = '10.200.0.2', port = '9', size = '1400', ms = '2000', max = '1000000000000'] = process.argv.slice(2);
const { symbols } = cc({
  source: new URL('./tun-io-sender.c', import.meta.url).pathname,
  symbols: { blast: { args: ['u32', 'u32', 'i32', 'i32', 'i64'], returns: 'i64' } },
});
const octets = ip.split('.').map(Number);
const ipBe = ((octets[3]! << 24) | (octets[2]! << 16) | (octets[1]! << 8) | octets[0]!) >>> 0;
const p = Number(port);
const portBe = ((p & 0xff) << 8) | (p >> 8);
console.log(String(symbols.blast(ipBe, portBe, Number(size), Number(ms), BigInt(max))));
