// The lab internet's services, run inside the "inet" namespace (never anywhere else):
//   --web ADDR:PORT   HTTP: answers every request with `client=<the address it sees>`, except
//                     /download?seconds=S: 64 KB every 50 ms for S seconds (a long download)
//   --dns ADDR:PORT   DNS over UDP and TCP: answers every A question with --answer (TTL 0, so
//                     no cache hides a query) and appends {"from","proto","name"} to --log
// Repeat --web (or --dns) for more addresses (IPv6 in brackets). Prints "ready" once everything listens.
//
//   bun test/netns/lib/inet-services.ts --web 198.51.100.10:80 --dns 198.51.100.53:53 --log q.jsonl

import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { web: { type: 'string', multiple: true }, dns: { type: 'string', multiple: true }, log: { type: 'string' }, answer: { type: 'string' } },
});

function split(hostPort: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hostPort);
  if (!m) throw new Error(`not ADDR:PORT: ${hostPort}`);
  return { host: m[1]!, port: Number(m[2]) };
}

for (const w of values.web ?? []) {
  const { host, port } = split(w);
  Bun.serve({
    hostname: host,
    port,
    fetch(req, server) {
      const url = new URL(req.url);
      if (url.pathname === '/download') {
        const until = Date.now() + Math.min(120, Number(url.searchParams.get('seconds') ?? 10)) * 1000;
        const chunk = new Uint8Array(65_536).fill(120);
        return new Response(new ReadableStream({
          async pull(c) {
            if (Date.now() >= until) return c.close();
            c.enqueue(chunk);
            await Bun.sleep(50);
          },
        }));
      }
      return new Response(`client=${server.requestIP(req)?.address ?? '?'}\n`);
    },
  });
}

/** The question's name (labels joined by dots) and where the question section ends. */
function question(q: Uint8Array): { name: string; end: number } | null {
  let i = 12;
  const labels: string[] = [];
  while (i < q.length) {
    const len = q[i]!;
    if (len === 0) return i + 5 <= q.length ? { name: labels.join('.'), end: i + 5 } : null;
    if (len > 63 || i + 1 + len > q.length) return null;
    labels.push(new TextDecoder().decode(q.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
  }
  return null;
}

const answerIp = (values.answer ?? '198.51.100.10').split('.').map(Number);

function respond(q: Uint8Array): Uint8Array | null {
  if (q.length < 17) return null;
  const qn = question(q);
  if (!qn) return null;
  const qtype = (q[qn.end - 4]! << 8) | q[qn.end - 3]!;
  const withAnswer = qtype === 1;
  const out = new Uint8Array(qn.end + (withAnswer ? 16 : 0));
  out.set(q.subarray(0, qn.end));
  out[2] = 0x81; // response, recursion desired
  out[3] = 0x80; // recursion available, no error
  out[6] = 0;
  out[7] = withAnswer ? 1 : 0; // answers
  out[8] = out[9] = out[10] = out[11] = 0;
  if (withAnswer) {
    out.set([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, ...answerIp], qn.end);
  }
  return out;
}

function record(from: string, proto: string, q: Uint8Array): void {
  if (values.log) appendFileSync(values.log, `${JSON.stringify({ from, proto, name: question(q)?.name ?? null })}\n`);
}

for (const d of values.dns ?? []) {
  const { host, port } = split(d);
  await Bun.udpSocket({
    hostname: host,
    port,
    socket: {
      data(sock, data, rport, raddr) {
        record(raddr, 'udp', data);
        const r = respond(data);
        if (r) sock.send(r, rport, raddr);
      },
    },
  });
  const tcp = createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + q.length);
        record(c.remoteAddress ?? '?', 'tcp', q);
        const r = respond(q);
        if (r) c.write(Buffer.concat([Buffer.from([r.length >> 8, r.length & 0xff]), r]));
      }
    });
    c.on('error', () => {});
  });
  await new Promise<void>((resolve) => tcp.listen(port, host, resolve));
}

console.log('ready');
