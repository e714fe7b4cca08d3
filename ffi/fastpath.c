/* The data-plane worker's per-packet work in one native call per batch each way (bun:ffi `cc`,
 * TinyCC; no system headers, so the few declarations are here, Linux LP64 layout):
 *   rx_batch  recvmmsg(2) → header (unmasked on the native wire) → session in the receive table →
 *             AEAD open in place (libsodium) → endpoint check → keepalive / IP packet → source
 *             address check, and a verdict per datagram for the JavaScript loop
 *             (appliance/dataplane/outbound-loop.ts), which accepts the counter into the session's
 *             replay window (under the window's lock, shared with the main thread — TinyCC has no
 *             atomics to take it here), counts, and writes the packets to the TUN
 *   tx_batch  TUN reads → destination route → the peer's keys in the send table → header,
 *             padding, AEAD seal in place, header protection → sendmmsg(2), and the send table's
 *             counters; packets it cannot send are left to the loop (to the main thread)
 *
 * Why native: on an idle appliance every wake-up starts cold, and each JavaScript function and
 * FFI call on the way costs microseconds then (scripts/bench/rtt-trace.ts: ~70 µs to open one
 * datagram in JavaScript against ~10 µs warm; ~250 µs from TUN to wire against wireguard-go's
 * ~125). One call touching a few pages of C is cheaper.
 *
 * Layouts mirror the TypeScript that owns them: recv-table.ts (entries of 84 words), send-table.ts
 * (per slot 8 float64 then 8 int32 each), route-share.ts (header ints, then 20-byte entries).
 * The main thread writes the receive table under a seqlock; this code reads an entry between two
 * loads of its seq and uses it only if they agree and are even. Without atomics that is not a
 * guarantee on weakly ordered CPUs: a torn key only fails the tag (the datagram is dropped), and a
 * torn state or index is checked again by the replay window's owner-checked accept. */

typedef unsigned long size_t;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned char u8;
typedef unsigned int socklen_t;
struct iovec { void *base; size_t len; };
struct msghdr {
  void *name; socklen_t namelen; struct iovec *iov; size_t iovlen;
  void *control; size_t controllen; int flags;
};
struct mmsghdr { struct msghdr hdr; unsigned int len; };
extern int recvmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags, void *timeout);
extern int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags);
extern long read(int fd, void *buf, size_t count);
extern int *__errno_location(void);
extern void *memcpy(void *dst, const void *src, size_t n);
extern void *memset(void *dst, int c, size_t n);
extern void *dlopen(const char *file, int mode);
extern void *dlsym(void *handle, const char *name);

#define EINTR 4
#define EAGAIN 11
#define ENETUNREACH 101
#define ECONNREFUSED 111
#define EHOSTDOWN 112
#define EHOSTUNREACH 113
#define MSG_DONTWAIT 0x40
#define MSG_TRUNC 0x20
#define RTLD_NOW 2
#define MAX_BATCH 64

/* Verdicts (res[8i]); the JavaScript side names them RX_* (outbound-loop.ts). */
#define V_TOO_BIG 0
#define V_RAW 1          /* not a session of ours (handshake, DHT, garbage): to the main thread as received */
#define V_AUTH 2         /* a session's header, but the tag failed: dropped */
#define V_OPENED 3       /* opened; accept, then to the main thread (confirms a session, roams, not IP) */
#define V_KEEPALIVE 4    /* opened; accept and count */
#define V_DELIVER 5      /* opened; accept, count, write res[8i+5..6] to the TUN */
#define V_SOURCE 6       /* opened, but the source address is not the peer's: dropped */

/* Receive table entry (int32 words). */
#define ENTRY_WORDS 84
#define E_SEQ 0
#define E_INDEX 1
#define E_STATE 2
#define E_PEER 3
#define E_SUITE 4
#define E_WIRE 5
#define E_FAST_UNTIL 6
#define E_KEY 8
#define STATE_OPEN 1

/* Send table: per slot 8 float64 (first) and 8 int32. */
#define ST_FLOATS 8
#define ST_INTS 8
#define ST_STATE 1
#define ST_PORT 5
#define ST_IPV4 6

/* Route share: header ints, then entries. */
#define RS_HEADER_INTS 12
#define RS_EXITS 4
#define RS_MAX_EXITS 8
#define RS_ENTRY 20

#define HEADER_BYTES 12
#define TAG_BYTES 16

typedef int (*stream_xor_ic_fn)(u8 *c, const u8 *m, u64 mlen, const u8 *n, u32 ic, const u8 *k);
typedef int (*aead_open_fn)(u8 *m, u64 *mlen_p, u8 *nsec, const u8 *c, u64 clen, const u8 *ad, u64 adlen, const u8 *npub, const u8 *k);
typedef int (*aead_seal_fn)(u8 *c, u64 *clen_p, const u8 *m, u64 mlen, const u8 *ad, u64 adlen, const u8 *nsec, const u8 *npub, const u8 *k);
static stream_xor_ic_fn stream_xor_ic;
static aead_open_fn open_chacha;
static aead_open_fn open_aes;
static aead_seal_fn seal_chacha;
static aead_seal_fn seal_aes;

/* Loads libsodium's functions: 1 when all there, 0 when not (the JavaScript path is used then). */
int rx_init(void) {
  void *h = dlopen("libsodium.so.23", RTLD_NOW);
  if (!h) return 0;
  int (*init)(void) = (int (*)(void))dlsym(h, "sodium_init");
  int (*aes_ok)(void) = (int (*)(void))dlsym(h, "crypto_aead_aes256gcm_is_available");
  stream_xor_ic = (stream_xor_ic_fn)dlsym(h, "crypto_stream_chacha20_ietf_xor_ic");
  open_chacha = (aead_open_fn)dlsym(h, "crypto_aead_chacha20poly1305_ietf_decrypt");
  open_aes = (aead_open_fn)dlsym(h, "crypto_aead_aes256gcm_decrypt");
  seal_chacha = (aead_seal_fn)dlsym(h, "crypto_aead_chacha20poly1305_ietf_encrypt");
  seal_aes = (aead_seal_fn)dlsym(h, "crypto_aead_aes256gcm_encrypt");
  if (!init || !aes_ok || !stream_xor_ic || !open_chacha || !open_aes || !seal_chacha || !seal_aes) return 0;
  if (init() < 0) return 0;
  if (aes_ok() != 1) {
    open_aes = 0;
    seal_aes = 0;
  }
  return 1;
}

static u32 le32(const u8 *p) { return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24); }

/* The peer slot of the longest prefix holding `src` (family 4 or 6), -1 for none; *bits its length.
 * A linear scan: a home network's members hold a few prefixes each. */
static int route_of(const u8 *routes, int family, const u8 *src, int *bits) {
  const int *head = (const int *)routes;
  int count = head[1];
  const u8 *e = routes + RS_HEADER_INTS * 4;
  int best = -1, best_bits = -1;
  int n = family == 4 ? 4 : 16;
  for (int i = 0; i < count; i++, e += RS_ENTRY) {
    if (e[0] != family || (int)e[1] <= best_bits) continue;
    int b = e[1], full = b >> 3, rest = b & 7, ok = 1;
    if (b > n * 8) continue;
    for (int k = 0; k < full; k++) if (e[4 + k] != src[k]) { ok = 0; break; }
    if (ok && rest) {
      u8 m = (u8)(0xff << (8 - rest));
      if ((e[4 + full] & m) != (src[full] & m)) ok = 0;
    }
    if (ok) { best = e[2] | (e[3] << 8); best_bits = b; }
  }
  *bits = best_bits;
  return best;
}

/*
 * Receives up to `max` datagrams (never blocking) into arena + i*slot_bytes, their sources at
 * addrs + 16i, and judges each: res[8i..8i+8) = verdict, local index, counter low, counter high,
 * peer slot, IP packet offset in the arena, its length, datagram length. `keys` holds the two key
 * slots' header keys (32 bytes each); `wire` bit 0 = native, bits 1–2 = key slot 0/1 in use.
 * Returns the count, 0 when nothing waited, or -errno.
 */
int rx_batch(int fd, u8 *arena, int slot_bytes, u8 *addrs, int max,
             const u8 *keys, int wire, int *recv, int mask, const int *send_ints,
             const u8 *routes, double now, int *res) {
  struct mmsghdr m[MAX_BATCH];
  struct iovec v[MAX_BATCH];
  if (max > MAX_BATCH) max = MAX_BATCH;
  for (int i = 0; i < max; i++) {
    v[i].base = arena + (long)i * slot_bytes; v[i].len = (size_t)slot_bytes;
    m[i].hdr.name = addrs + 16 * i; m[i].hdr.namelen = 16;
    m[i].hdr.iov = &v[i]; m[i].hdr.iovlen = 1;
    m[i].hdr.control = 0; m[i].hdr.controllen = 0; m[i].hdr.flags = 0; m[i].len = 0;
  }
  int got;
  for (int pending = 0;;) {
    got = recvmmsg(fd, m, (unsigned int)max, MSG_DONTWAIT, 0);
    if (got >= 0) break;
    int e = *__errno_location();
    if (e == EAGAIN) return 0;
    if (e == EINTR) continue;
    if ((e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN) && ++pending <= 8) continue;
    return -e;
  }
  int native = wire & 1;
  u8 zero[12], mk[12], key[32], nonce[12];
  for (int k = 0; k < 12; k++) zero[k] = 0;
  for (int i = 0; i < got; i++) {
    int *r = res + 8 * i;
    u8 *d = arena + (long)i * slot_bytes;
    int len = (m[i].hdr.flags & MSG_TRUNC) ? -1 : (int)m[i].len;
    r[0] = V_RAW; r[1] = 0; r[2] = 0; r[3] = 0; r[4] = 0; r[5] = 0; r[6] = 0; r[7] = len;
    if (len < 0) { r[0] = V_TOO_BIG; continue; }
    if (len < (native ? HEADER_BYTES : 16) + TAG_BYTES) continue;
    /* The session: the current header key's, else the previous one's (after a rotation). */
    int found = 0, *e = 0, suite = 0, peer = 0, state = 0;
    u32 index = 0, lo = 0, hi = 0;
    for (int ws = 0; ws < 2 && !found; ws++) {
      if (native) {
        if (!(wire & (2 << ws))) continue;
        const u8 *s = d + HEADER_BYTES;
        stream_xor_ic(mk, zero, 12, s + 4, le32(s), keys + 32 * ws);
        u8 h[12];
        for (int k = 0; k < 12; k++) h[k] = d[k] ^ mk[k];
        index = le32(h); lo = le32(h + 4); hi = le32(h + 8);
      } else {
        if (ws > 0) break;
        if (d[0] != 4 || d[1] || d[2] || d[3]) break;
        index = le32(d + 4); lo = le32(d + 8); hi = le32(d + 12);
      }
      e = recv + (long)(index & (u32)mask) * ENTRY_WORDS;
      for (int tries = 0; tries < 4 && !found; tries++) {
        int s1 = *(volatile int *)(e + E_SEQ);
        if (s1 & 1) continue;
        if ((u32)e[E_INDEX] != index || e[E_WIRE] != ws) break;
        state = e[E_STATE];
        peer = e[E_PEER];
        suite = e[E_SUITE];
        double until = *(double *)(e + E_FAST_UNTIL);
        memcpy(key, e + E_KEY, 32);
        if (*(volatile int *)(e + E_SEQ) != s1) continue;
        if (state == 0 || now >= until || hi >= 0x200000) break; /* the main thread rekeys or drops it */
        found = 1;
      }
    }
    if (!found) continue; /* V_RAW */
    int h = native ? HEADER_BYTES : 16; /* WireGuard: type, index, counter */
    for (int k = 0; k < 4; k++) nonce[k] = 0;
    for (int k = 0; k < 4; k++) { nonce[4 + k] = (u8)(lo >> (8 * k)); nonce[8 + k] = (u8)(hi >> (8 * k)); }
    aead_open_fn open = suite == 1 ? open_aes : open_chacha;
    if (!open || open(d + h, 0, 0, d + h, (u64)(len - h), 0, 0, nonce, key) != 0) { r[0] = V_AUTH; continue; }
    r[1] = (int)index; r[2] = (int)lo; r[3] = (int)hi; r[4] = peer;
    int plen = len - h - TAG_BYTES;
    const int *st = send_ints + (long)peer * ST_INTS;
    int port = (addrs[16 * i + 2] << 8) | addrs[16 * i + 3];
    u32 ip = ((u32)addrs[16 * i + 4] << 24) | ((u32)addrs[16 * i + 5] << 16) | ((u32)addrs[16 * i + 6] << 8) | addrs[16 * i + 7];
    if (state != STATE_OPEN || st[ST_STATE] != 1 || st[ST_PORT] != port || (u32)st[ST_IPV4] != ip) { r[0] = V_OPENED; continue; }
    const u8 *p = d + h;
    if (plen == 0 || (native && p[0] == 0)) { r[0] = V_KEEPALIVE; continue; }
    int version = p[0] >> 4, ip_len = 0;
    if (version == 4 && plen >= 20) ip_len = (p[2] << 8) | p[3];
    else if (version == 6 && plen >= 40) ip_len = ((p[4] << 8) | p[5]) + 40;
    else version = 0;
    if (version == 0 || ip_len > plen || ip_len < (version == 4 ? 20 : 40)) { r[0] = V_OPENED; continue; } /* relay, probe, control ... */
    /* The source must be the peer's: its allowed IPs, or (an exit) internet addresses. */
    const int *rh = (const int *)routes;
    int g1 = *(volatile int *)rh;
    int bits = -1;
    int owner = route_of(routes, version, p + (version == 4 ? 12 : 8), &bits);
    if ((g1 & 1) || *(volatile int *)rh != g1) { r[0] = V_OPENED; continue; } /* routes being rewritten: the main thread checks */
    int allowed = owner == peer;
    if (!allowed && version == 4 && bits <= 0) /* the default route, or none (route-table.ts matchedBits) */
      for (int k = 0; k < RS_MAX_EXITS; k++) if (rh[RS_EXITS + k] == peer) allowed = 1;
    if (!allowed) { r[0] = V_SOURCE; continue; }
    r[0] = V_DELIVER; r[5] = (int)((long)i * slot_bytes + h); r[6] = ip_len;
  }
  return got;
}

/* Send table floats (per slot, F_* of send-table.ts). */
#define F_CREATED 0
#define F_COUNTER 1
#define F_TX_PACKETS 2
#define F_TX_BYTES 3
#define F_LAST_SENT 4
#define F_LAST_DATA_SENT 5
#define F_FIRST_UNANSWERED 6
#define ST_SEQ 0
#define ST_REMOTE 2
#define ST_SUITE 3
#define ST_KEYGEN 4
#define ST_WIRE 7
#define EXIT_UNSET (-1)
#define MAX_COUNTER 9007199254740991.0 /* REJECT_AFTER_MESSAGES: 2^53 - 1 */

/* Verdicts of tx_batch (res[3k]); JavaScript names them TX_*. */
#define T_SENT 0
#define T_MALFORMED 1
#define T_NO_ROUTE 2
#define T_FORWARD 3   /* no sendable keys: to the main thread (it stages the packet and handshakes) */
#define T_JS 4        /* the device-exit rule applies: the JavaScript loop routes it */

static const int buckets[4] = {128, 256, 512, 1024};

/* padding.ts paddedSize (native) and transport.ts paddedLength (WireGuard). */
static int padded_size(int native, int mode, int len, int mtu) {
  if (!native) {
    int p = (len + 15) & ~15;
    if (p > mtu) p = mtu;
    return p > len ? p : len;
  }
  if (mode == 0) return len;
  if (mode == 2) return len > mtu ? len : mtu;
  for (int k = 0; k < 4; k++) if (len <= buckets[k] && buckets[k] <= mtu) return buckets[k];
  return len > mtu ? len : mtu;
}

static void put_le32(u8 *p, u32 v) { p[0] = (u8)v; p[1] = (u8)(v >> 8); p[2] = (u8)(v >> 16); p[3] = (u8)(v >> 24); }

/*
 * Reads up to `max` packets from the TUN (never blocking) into rd + k*rd_slot and sends what it
 * can: each packet's verdict at res[3k] (T_*), its offset and length at res[3k+1..2]. Sealed
 * datagrams go to out + j*out_slot (addresses at addrs + 16j) and out in one sendmmsg. `cfg`:
 * [native, padding mode (0 off, 1 bucket, 2 mtu), mtu, slots, device exits in use].
 * `counters`/`gens`: this thread's send counter per slot and the key generation it belongs to.
 * Returns the packet count (bits 0–15) and the datagrams the socket took (bits 16–30), or -errno
 * of a TUN read that moved nothing.
 */
int tx_batch(int tun, u8 *rd, int rd_slot, int max, int sock, u8 *out, int out_slot, u8 *addrs,
             const int *cfg, double *send_floats, const int *send_ints, const u8 *send_keys,
             const u8 *routes, const u8 *keys, double *counters, int *gens, double now,
             double reject_after_ms, int *res) {
  struct mmsghdr m[MAX_BATCH];
  struct iovec v[MAX_BATCH];
  if (max > MAX_BATCH) max = MAX_BATCH;
  int native = cfg[0], mode = cfg[1], mtu = cfg[2], slots = cfg[3], exits = cfg[4];
  int h = native ? HEADER_BYTES : 16;
  int n = 0;
  for (; n < max; n++) {
    long r = read(tun, rd + (long)n * rd_slot, (size_t)rd_slot);
    if (r < 0) {
      int e = *__errno_location();
      if (e == EINTR) { n--; continue; }
      if (e == EAGAIN || n > 0) break;
      return -e;
    }
    res[3 * n + 1] = n * rd_slot;
    res[3 * n + 2] = (int)r;
  }
  u8 zero[12], mk[12], key[32], nonce[12];
  for (int k = 0; k < 12; k++) zero[k] = 0;
  int j = 0;
  for (int k = 0; k < n; k++) {
    int *r = res + 3 * k;
    const u8 *p = rd + r[1];
    int len = r[2];
    int version = len >= 1 ? p[0] >> 4 : 0;
    if (!((version == 4 && len >= 20) || (version == 6 && len >= 40))) { r[0] = T_MALFORMED; continue; }
    int bits = -1;
    int slot = route_of(routes, version, p + (version == 4 ? 16 : 24), &bits);
    if (exits && version == 4 && bits <= 0) { r[0] = T_JS; continue; }
    if (slot < 0 || slot >= slots) { r[0] = T_NO_ROUTE; continue; }
    /* The peer's published keys, between two equal even loads of its seq. */
    const int *st = send_ints + (long)slot * ST_INTS;
    double *sf = send_floats + (long)slot * ST_FLOATS;
    int ok = 0, suite = 0, gen = 0, ws = 0, port = 0;
    u32 remote = 0, ip = 0;
    double created = 0;
    for (int tries = 0; tries < 4 && !ok; tries++) {
      int s1 = *(volatile int *)(st + ST_SEQ);
      if (s1 & 1) continue;
      if (st[ST_STATE] != 1) break;
      remote = (u32)st[ST_REMOTE]; suite = st[ST_SUITE]; gen = st[ST_KEYGEN]; port = st[ST_PORT];
      ip = (u32)st[ST_IPV4]; ws = st[ST_WIRE]; created = sf[F_CREATED];
      memcpy(key, send_keys + 32 * slot, 32);
      if (*(volatile int *)(st + ST_SEQ) == s1) ok = 1;
    }
    if (ok && now - created >= reject_after_ms) ok = 0;
    if (ok && gens[slot] != gen) { gens[slot] = gen; counters[slot] = 0; }
    aead_seal_fn seal = suite == 1 ? seal_aes : seal_chacha;
    if (!ok || counters[slot] >= MAX_COUNTER || !seal || ws < 0 || ws > 1) { r[0] = T_FORWARD; continue; }
    double cd = counters[slot];
    counters[slot] = cd + 1;
    u64 c = (u64)cd;
    int padded = padded_size(native, mode, len, mtu);
    if (h + padded + TAG_BYTES > out_slot) { r[0] = T_FORWARD; continue; }
    u8 *d = out + (long)j * out_slot;
    if (native) {
      put_le32(d, remote); put_le32(d + 4, (u32)c); put_le32(d + 8, (u32)(c >> 32));
    } else {
      put_le32(d, 4); put_le32(d + 4, remote); put_le32(d + 8, (u32)c); put_le32(d + 12, (u32)(c >> 32));
    }
    memcpy(d + h, p, (size_t)len); /* libc's: TinyCC's own loops are unoptimised */
    if (padded > len) memset(d + h + len, 0, (size_t)(padded - len));
    for (int b = 0; b < 4; b++) nonce[b] = 0;
    for (int b = 0; b < 8; b++) nonce[4 + b] = (u8)(c >> (8 * b));
    seal(d + h, 0, d + h, (u64)padded, 0, 0, 0, nonce, key);
    if (native) {
      const u8 *s = d + HEADER_BYTES;
      stream_xor_ic(mk, zero, 12, s + 4, le32(s), keys + 32 * ws);
      for (int b = 0; b < HEADER_BYTES; b++) d[b] ^= mk[b];
    }
    u8 *a = addrs + 16 * j;
    for (int b = 0; b < 16; b++) a[b] = 0;
    a[0] = 2; a[2] = (u8)(port >> 8); a[3] = (u8)port;
    a[4] = (u8)(ip >> 24); a[5] = (u8)(ip >> 16); a[6] = (u8)(ip >> 8); a[7] = (u8)ip;
    v[j].base = d; v[j].len = (size_t)(h + padded + TAG_BYTES);
    m[j].hdr.name = a; m[j].hdr.namelen = 16; m[j].hdr.iov = &v[j]; m[j].hdr.iovlen = 1;
    m[j].hdr.control = 0; m[j].hdr.controllen = 0; m[j].hdr.flags = 0; m[j].len = 0;
    j++;
    sf[F_COUNTER] = cd + 1;
    sf[F_LAST_SENT] = now;
    sf[F_TX_PACKETS] += 1;
    sf[F_TX_BYTES] += len;
    sf[F_LAST_DATA_SENT] = now;
    if (sf[F_FIRST_UNANSWERED] == 0) sf[F_FIRST_UNANSWERED] = now;
    r[0] = T_SENT;
  }
  int sent = 0, pending = 0;
  while (sent < j) {
    int s = sendmmsg(sock, m + sent, (unsigned int)(j - sent), 0);
    if (s < 0) {
      int e = *__errno_location();
      if (e == EINTR) continue;
      if ((e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN) && ++pending <= 8) continue;
      break;
    }
    if (s == 0) break;
    sent += s;
  }
  return n | (sent << 16);
}

/* ------------------------------------------------------------------ the whole loop */

struct pollfd { int fd; short events; short revents; };
struct timespec { long sec; long nsec; };
extern int poll(struct pollfd *fds, unsigned long nfds, int timeout);
extern long write(int fd, const void *buf, size_t count);
extern int clock_gettime(int clock, struct timespec *ts);
extern int pthread_mutex_lock(void *m);
extern int pthread_mutex_unlock(void *m);

#define POLLIN 0x1
#define CLOCK_MONOTONIC 1

/* Monotonic milliseconds; the caller adds the offset to its own clock (performance.timeOrigin + now). */
double dp_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.sec * 1000.0 + (double)ts.nsec / 1e6;
}

/* The replay window at w (session/replay.ts words: 1 any, 2–3 the highest counter, 4.. the ring);
 * the caller holds the receive table's mutex. */
static int accept_counter(int *w, u64 counter) {
  u32 *ring = (u32 *)(w + 4);
  double *lastp = (double *)(w + 2);
  if (counter >= 9007199254740991ULL) return 0;
  u64 block = counter / 32;
  int any = w[1] == 1;
  u64 prev = any ? (u64)*lastp : 0;
  if (!any || counter > prev) {
    u64 cur = prev / 32;
    u64 diff = any ? block - cur : 64;
    if (diff > 64) diff = 64;
    for (u64 i = 1; i <= diff; i++) ring[(cur + i) & 63] = 0;
    *lastp = (double)counter;
    w[1] = 1;
  } else if (prev - counter > 63 * 32) {
    return 0;
  }
  u32 idx = (u32)(block & 63), bit = 1u << (u32)(counter % 32);
  if (ring[idx] & bit) return 0;
  ring[idx] |= bit;
  return 1;
}

/* P: pointers (see outbound-loop.ts runFast), I: ints, D: doubles. */
enum { P_R_ARENA, P_R_ADDRS, P_KEYSHARE, P_RECV, P_S_FLOATS, P_S_INTS, P_S_KEYS, P_ROUTES,
       P_COUNTERS, P_GENS, P_RX_RES, P_T_READ, P_T_OUT, P_T_ADDRS, P_T_RES, P_T_CFG, P_STATS, P_RX_SLOTS,
       P_IN_CTRL, P_IN_LENS, P_IN_DATA, P_TUN_CTRL, P_TUN_LENS, P_TUN_DATA, P_W_OFFS, P_W_LENS, P_MUTEX };
enum { I_TUN, I_UDP, I_BELL, I_POLL_MS, I_R_SLOT, I_T_SLOT, I_MASK, I_IN_SLOTS, I_IN_SLOT, I_IN_HEAD,
       I_TUN_SLOTS, I_TUN_SLOT, I_TUN_HEAD, I_NATIVE, I_PEERS, I_CALL };
enum { D_OFFSET, D_REJECT_AFTER };
/* Returns of dp_run. */
#define R_WAKE 1
#define R_TIMEOUT 2
#define R_PUBLISH 3
#define R_JS 4
#define R_STOP 5
/* Worker counters (outbound-protocol.ts S_*). */
enum { S_SENT, S_FORWARDED, S_NO_ROUTE, S_SEND_DROPPED, S_MALFORMED, S_RX, S_RX_TO_MAIN, S_RX_AUTH,
       S_RX_REPLAY, S_RX_SOURCE, S_RX_TUN_DROPPED, S_RX_RING_FULL, S_RX_TOO_BIG, S_RX_ERRORS, S_RX_RAW };
#define RING_HEAD 0
#define RING_TAIL 1
#define RING_STOP 2
#define RING_FULL 3
#define IN_RECORD 32

static void put_be(u8 *p, u64 v, int n) { for (int k = n - 1; k >= 0; k--) { p[k] = (u8)v; v >>= 8; } }

/* A datagram to the main thread (outbound-protocol.ts IN_* records); 0 when its ring is full. */
static int to_main(u64 *P, int *I, int kind, const u8 *d, int len, int port, u32 ip, u32 index, double t) {
  int *ctrl = (int *)P[P_IN_CTRL];
  int head = I[I_IN_HEAD], slots = I[I_IN_SLOTS], size = I[I_IN_SLOT];
  int *stats = (int *)P[P_STATS];
  if ((u32)(head - *(volatile int *)(ctrl + RING_TAIL)) >= (u32)slots || len + IN_RECORD > size) { stats[S_RX_RING_FULL]++; return 0; }
  int slot = head & (slots - 1);
  u8 *rec = (u8 *)P[P_IN_DATA] + (long)slot * size;
  memset(rec, 0, IN_RECORD);
  rec[0] = (u8)kind;
  put_be(rec + 2, (u64)port, 2);
  put_be(rec + 4, ip, 4);
  put_be(rec + 8, index, 4);
  union { double f; u64 u; } tv;
  tv.f = t;
  put_be(rec + 16, tv.u, 8);
  memcpy(rec + IN_RECORD, d, (size_t)len);
  ((int *)P[P_IN_LENS])[slot] = len;
  I[I_IN_HEAD] = head + 1;
  stats[S_RX_TO_MAIN]++;
  if (kind == 0) stats[S_RX_RAW]++;
  return 1;
}

/* An outbound packet to the main thread (the TUN ring): it has no sendable keys for it. */
static int to_main_tun(u64 *P, int *I, const u8 *p, int len) {
  int *ctrl = (int *)P[P_TUN_CTRL];
  int head = I[I_TUN_HEAD], slots = I[I_TUN_SLOTS], size = I[I_TUN_SLOT];
  if ((u32)(head - *(volatile int *)(ctrl + RING_TAIL)) >= (u32)slots || len > size) { ctrl[RING_FULL]++; return 0; }
  int slot = head & (slots - 1);
  u8 *dst = (u8 *)P[P_TUN_DATA] + (long)slot * size;
  memcpy(dst, p, (size_t)len);
  ((int *)P[P_TUN_LENS])[slot] = len;
  I[I_TUN_HEAD] = head + 1;
  ((int *)P[P_STATS])[S_FORWARDED]++;
  return 1;
}

/* Receives what waits on the socket, to the TUN or the main thread. 1 if it wrote to the TUN. */
static int run_rx(u64 *P, int *I, double now, int *forwarded) {
  int *stats = (int *)P[P_STATS];
  int *res = (int *)P[P_RX_RES];
  u8 *arena = (u8 *)P[P_R_ARENA];
  u8 *addrs = (u8 *)P[P_R_ADDRS];
  const u8 *keyshare = (const u8 *)P[P_KEYSHARE];
  int *recv = (int *)P[P_RECV];
  double *rxs = (double *)P[P_RX_SLOTS];
  double *sf = (double *)P[P_S_FLOATS];
  int *offs = (int *)P[P_W_OFFS], *lens = (int *)P[P_W_LENS];
  int rslot = I[I_R_SLOT], native = I[I_NATIVE];
  int wire = native;
  for (int ws = 0; ws < 2; ws++) {
    const u8 *k = keyshare + 8 + 32 * ws;
    int used = 0;
    for (int b = 0; b < 32; b++) used |= k[b];
    if (used) wire |= 2 << ws;
  }
  int wrote = 0;
  for (int round = 0; round < 4; round++) {
    int got = rx_batch(I[I_UDP], arena, rslot, addrs, 32, keyshare + 8, wire, recv, I[I_MASK],
                       (const int *)P[P_S_INTS], (const u8 *)P[P_ROUTES], now, res);
    if (got < 0) { stats[S_RX_ERRORS]++; if (got == -9 || got == -88) return got; break; }
    stats[S_RX] += got;
    int n = 0;
    for (int i = 0; i < got; i++) {
      int *r = res + 8 * i;
      int v = r[0];
      const u8 *a = addrs + 16 * i;
      int port = (a[2] << 8) | a[3];
      u32 ip = ((u32)a[4] << 24) | ((u32)a[5] << 16) | ((u32)a[6] << 8) | a[7];
      if (v == V_TOO_BIG) { stats[S_RX_TOO_BIG]++; continue; }
      if (v == V_AUTH) { stats[S_RX_AUTH]++; continue; }
      if (v == V_SOURCE) { stats[S_RX_SOURCE]++; continue; }
      if (v == V_RAW) { *forwarded += to_main(P, I, 0, arena + (long)i * rslot, r[7], port, ip, 0, now); continue; }
      u32 index = (u32)r[1];
      u64 counter = (u64)(u32)r[2] | ((u64)(u32)r[3] << 32);
      int *e = recv + (long)(index & (u32)I[I_MASK]) * ENTRY_WORDS;
      pthread_mutex_lock((void *)P[P_MUTEX]);
      int ok = (u32)e[E_INDEX] == index && e[E_STATE] != 0 && accept_counter(e + 16, counter);
      pthread_mutex_unlock((void *)P[P_MUTEX]);
      if (!ok) { stats[S_RX_REPLAY]++; continue; }
      int slot = r[4];
      sf[(long)slot * ST_FLOATS + F_FIRST_UNANSWERED] = 0; /* answered: no new handshake for want of a reply */
      double *rx = rxs + (long)slot * 4;
      if (v == V_OPENED) { *forwarded += to_main(P, I, 1, arena + (long)i * rslot, r[7], port, ip, index, now); continue; }
      rx[0] = now;
      if (v == V_KEEPALIVE) { rx[3] += 1; continue; }
      rx[1] += 1;
      rx[2] += r[6];
      offs[n] = r[5];
      lens[n] = r[6];
      n++;
    }
    for (int k = 0; k < n; k++) {
      long w = write(I[I_TUN], arena + offs[k], (size_t)lens[k]);
      if (w < 0 && *__errno_location() == EINTR) w = write(I[I_TUN], arena + offs[k], (size_t)lens[k]);
      if (w < 0) stats[S_RX_TUN_DROPPED]++;
    }
    if (n > 0) wrote = 1;
    if (got < 32) break;
  }
  return wrote;
}

/* Reads, seals and sends what waits on the TUN; the rest to the main thread. 0, or -errno of a read. */
static int run_tx(u64 *P, int *I, double now, double reject_after, int *forwarded) {
  int *stats = (int *)P[P_STATS];
  int *res = (int *)P[P_T_RES];
  u8 *rd = (u8 *)P[P_T_READ];
  int slot_bytes = I[I_T_SLOT];
  for (int round = 0; round < 4; round++) {
    int r = tx_batch(I[I_TUN], rd, slot_bytes, 64, I[I_UDP], (u8 *)P[P_T_OUT], slot_bytes, (u8 *)P[P_T_ADDRS],
                     (const int *)P[P_T_CFG], (double *)P[P_S_FLOATS], (const int *)P[P_S_INTS], (const u8 *)P[P_S_KEYS],
                     (const u8 *)P[P_ROUTES], (const u8 *)P[P_KEYSHARE] + 8, (double *)P[P_COUNTERS], (int *)P[P_GENS],
                     now, reject_after, res);
    if (r < 0) return r;
    int got = r & 0xffff, sent = r >> 16, sealed = 0;
    for (int k = 0; k < got; k++) {
      int v = res[3 * k];
      if (v == T_SENT) sealed++;
      else if (v == T_MALFORMED) stats[S_MALFORMED]++;
      else if (v == T_NO_ROUTE) stats[S_NO_ROUTE]++;
      else *forwarded += to_main_tun(P, I, rd + res[3 * k + 1], res[3 * k + 2]); /* T_FORWARD (T_JS cannot happen here) */
    }
    stats[S_SENT] += sent;
    if (sent < sealed) stats[S_SEND_DROPPED] += sealed - sent;
    if (got < 64) break;
  }
  return 0;
}

/*
 * The data plane's loop while it needs no JavaScript: wait, receive, write, read, seal, send.
 * Returns to the caller when the doorbell rang (R_WAKE: the main thread queued sends), a wait
 * timed out (R_TIMEOUT), datagrams or packets went into a ring for the main thread (R_PUBLISH:
 * the caller publishes the heads I[I_IN_HEAD], I[I_TUN_HEAD] and wakes it), devices name exits
 * (R_JS: the caller's loop routes by source port), STOP was set (R_STOP), or on an error (-errno;
 * I[I_CALL] 1 poll, 2 recvmmsg, 3 TUN read).
 */
int dp_run(u64 *P, int *I, double *D) {
  int *tun_ctrl = (int *)P[P_TUN_CTRL];
  const int *routes = (const int *)P[P_ROUTES];
  for (;;) {
    if (*(volatile int *)(tun_ctrl + RING_STOP)) return R_STOP;
    struct pollfd p[3];
    p[0].fd = I[I_TUN]; p[0].events = POLLIN; p[0].revents = 0;
    p[1].fd = I[I_BELL]; p[1].events = POLLIN; p[1].revents = 0;
    p[2].fd = I[I_UDP]; p[2].events = POLLIN; p[2].revents = 0;
    int pr = poll(p, 3, I[I_POLL_MS]);
    if (pr < 0) {
      if (*__errno_location() == EINTR) continue;
      I[I_CALL] = 1;
      return -*__errno_location();
    }
    if (pr == 0) return R_TIMEOUT;
    if (p[1].revents) return R_WAKE;
    for (int k = 0; k < RS_MAX_EXITS; k++) if (routes[RS_EXITS + k] != EXIT_UNSET) return R_JS;
    double now = dp_mono_ms() + D[D_OFFSET];
    int forwarded = 0, wrote = 0;
    if (p[2].revents) {
      wrote = run_rx(P, I, now, &forwarded);
      if (wrote < 0) { I[I_CALL] = 2; return wrote; }
    }
    /* After writing to the TUN, read it at once: the kernel may have queued the answers already. */
    if (p[0].revents || wrote) {
      int r = run_tx(P, I, now, D[D_REJECT_AFTER], &forwarded);
      if (r < 0) { I[I_CALL] = 3; return r; }
    }
    if (forwarded) return R_PUBLISH;
  }
}
