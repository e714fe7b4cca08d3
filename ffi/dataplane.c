/* The outbound worker's system calls, for bun:ffi `cc` (TinyCC; no system headers, so the few
 * structures are declared here with the Linux x86_64/arm64 LP64 layout).
 *   dp_wait        poll(2) on the TUN fd and a wake-up eventfd at once
 *   dp_send_batch  one sendmmsg(2) for a whole batch of datagrams to IPv4 endpoints
 * Return convention: >= 0 is a result; < 0 is -errno. */

typedef unsigned long size_t;
typedef unsigned int socklen_t;
struct pollfd { int fd; short events; short revents; };
struct iovec { void *base; size_t len; };
struct msghdr {
  void *name; socklen_t namelen; struct iovec *iov; size_t iovlen;
  void *control; size_t controllen; int flags;
};
struct mmsghdr { struct msghdr hdr; unsigned int len; };
extern int poll(struct pollfd *fds, unsigned long nfds, int timeout);
extern int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags);
extern int *__errno_location(void);

#define POLLIN 0x1
#define EINTR 4
/* Errors an earlier ICMP message left pending on the socket (a peer's port closed, a host gone):
 * the call that reports one sends nothing and clears it, so the batch is sent again. */
#define ENETUNREACH 101
#define ECONNREFUSED 111
#define EHOSTDOWN 112
#define EHOSTUNREACH 113
#define MAX_PENDING_ERRORS 8
#define MAX_BATCH 256

/* Bit 1: the TUN fd is readable; bit 2: the eventfd is; 0 on timeout. */
int dp_wait(int tun_fd, int ev_fd, int timeout_ms) {
  struct pollfd p[2];
  p[0].fd = tun_fd; p[0].events = POLLIN; p[0].revents = 0;
  p[1].fd = ev_fd; p[1].events = POLLIN; p[1].revents = 0;
  int r = poll(p, 2, timeout_ms);
  if (r < 0) return *__errno_location() == EINTR ? 0 : -*__errno_location();
  return (p[0].revents ? 1 : 0) | (p[1].revents ? 2 : 0);
}

/* Datagram i is arena[offs[i] .. offs[i]+lens[i]) to the 16-byte sockaddr_in at addrs + 16*i.
 * Returns how many the kernel took (the rest are dropped, as a full socket buffer drops). */
int dp_send_batch(int fd, unsigned char *arena, int *offs, int *lens, unsigned char *addrs, int n) {
  struct mmsghdr m[MAX_BATCH];
  struct iovec v[MAX_BATCH];
  if (n > MAX_BATCH) n = MAX_BATCH;
  for (int i = 0; i < n; i++) {
    v[i].base = arena + offs[i]; v[i].len = (size_t)lens[i];
    m[i].hdr.name = addrs + 16 * i; m[i].hdr.namelen = 16;
    m[i].hdr.iov = &v[i]; m[i].hdr.iovlen = 1;
    m[i].hdr.control = 0; m[i].hdr.controllen = 0; m[i].hdr.flags = 0; m[i].len = 0;
  }
  int sent = 0, pending = 0;
  while (sent < n) {
    int r = sendmmsg(fd, m + sent, (unsigned int)(n - sent), 0);
    if (r < 0) {
      int e = *__errno_location();
      if (e == EINTR) continue;
      if ((e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN) && ++pending <= MAX_PENDING_ERRORS) continue;
      return sent > 0 ? sent : -e;
    }
    if (r == 0) break;
    sent += r;
  }
  return sent;
}
