/* UDP load generator for scripts/bench/tun-io.ts: sends `size`-byte datagrams to ip:port with
 * sendmmsg in batches of 64 for `ms` milliseconds
 * or until `max` are sent. Compiled by bun:ffi `cc`; no system headers. */
typedef unsigned long size_t;
struct iovec { void *base; size_t len; };
struct msghdr { void *name; unsigned namelen; struct iovec *iov; size_t iovlen; void *control; size_t controllen; int flags; };
struct mmsghdr { struct msghdr hdr; unsigned len; };
struct sockaddr_in { unsigned short family; unsigned short port; unsigned addr; unsigned char zero[8]; };
struct timespec { long sec; long nsec; };
extern int socket(int, int, int);
extern int connect(int, const void *, unsigned);
extern int sendmmsg(int, struct mmsghdr *, unsigned, int);
extern int clock_gettime(int, struct timespec *);
extern int close(int);

static unsigned char payload[65536];

static long now_ms(void) { struct timespec t; clock_gettime(1, &t); return t.sec * 1000 + t.nsec / 1000000; }

/* ip_be and port_be in network byte order. Returns datagrams sent, or -1 on setup failure. */
long blast(unsigned ip_be, unsigned port_be, int size, int ms, long max) {
  struct sockaddr_in a;
  struct iovec iov[64];
  struct mmsghdr m[64];
  int i;
  int fd = socket(2, 2, 0);
  if (fd < 0) return -1;
  a.family = 2; a.port = (unsigned short)port_be; a.addr = ip_be;
  for (i = 0; i < 8; i++) a.zero[i] = 0;
  if (connect(fd, &a, sizeof a) < 0) return -1;
  for (i = 0; i < size; i++) payload[i] = (unsigned char)i;
  for (i = 0; i < 64; i++) {
    iov[i].base = payload; iov[i].len = (size_t)size;
    m[i].hdr.name = 0; m[i].hdr.namelen = 0; m[i].hdr.iov = &iov[i]; m[i].hdr.iovlen = 1;
    m[i].hdr.control = 0; m[i].hdr.controllen = 0; m[i].hdr.flags = 0; m[i].len = 0;
  }
  long sent = 0;
  long end = now_ms() + ms;
  while (sent < max && now_ms() < end) {
    long left = max - sent;
    int n = sendmmsg(fd, m, left < 64 ? (unsigned)left : 64, 0);
    if (n > 0) sent += n;
  }
  close(fd);
  return sent;
}
