/* The data-plane worker's system calls, for bun:ffi `cc` (TinyCC; no system headers, so the few
 * structures are declared here with the Linux x86_64/arm64 LP64 layout).
 *   dp_wait        poll(2) on the TUN fd, the UDP socket and a wake-up eventfd at once
 *   dp_send_batch  one sendmmsg(2) for a whole batch of datagrams to IPv4 endpoints
 *   dp_recv_batch  one recvmmsg(2) for a batch of datagrams with their IPv4 sources
 *   dp_write_batch the TUN writes of a batch of packets in one FFI call
 *   dp_udp_open    the tunnel's UDP socket (IPv4, non-blocking), bound to a port; dp_udp_port
 *   dp_send_to     one datagram (the main thread's handshakes, DHT messages)
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
extern int recvmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags, void *timeout);
extern long write(int fd, const void *buf, size_t count);
extern long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, socklen_t alen);
extern int socket(int domain, int type, int protocol);
extern int bind(int fd, const void *addr, socklen_t len);
extern int getsockname(int fd, void *addr, socklen_t *len);
extern int close(int fd);
extern int *__errno_location(void);

#define POLLIN 0x1
#define EINTR 4
#define EAGAIN 11
#define MSG_DONTWAIT 0x40
#define MSG_TRUNC 0x20
#define AF_INET 2
#define SOCK_DGRAM 2
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
/* Errors an earlier ICMP message left pending on the socket (a peer's port closed, a host gone):
 * the call that reports one sends nothing and clears it, so the batch is sent again. */
#define ENETUNREACH 101
#define ECONNREFUSED 111
#define EHOSTDOWN 112
#define EHOSTUNREACH 113
#define MAX_PENDING_ERRORS 8
#define MAX_BATCH 256

/* Bit 1: the TUN fd is readable; bit 2: the eventfd is; bit 4: the UDP socket is (udp_fd < 0:
 * not watched); 0 on timeout. */
int dp_wait(int tun_fd, int ev_fd, int udp_fd, int timeout_ms) {
  struct pollfd p[3];
  p[0].fd = tun_fd; p[0].events = POLLIN; p[0].revents = 0;
  p[1].fd = ev_fd; p[1].events = POLLIN; p[1].revents = 0;
  p[2].fd = udp_fd; p[2].events = POLLIN; p[2].revents = 0;
  int r = poll(p, udp_fd >= 0 ? 3 : 2, timeout_ms);
  if (r < 0) return *__errno_location() == EINTR ? 0 : -*__errno_location();
  return (p[0].revents ? 1 : 0) | (p[1].revents ? 2 : 0) | (udp_fd >= 0 && p[2].revents ? 4 : 0);
}

/* Up to `max` datagrams, datagram i into arena + i*slot_bytes (lens[i] its length, -1 when it was
 * longer than a slot: truncated, to be dropped) and its source sockaddr_in at addrs + 16*i.
 * Never blocks. Returns the count (0: nothing waiting) or -errno. An error an earlier ICMP message
 * left on the socket (ECONNREFUSED ...) is cleared by the call that reports it: it is tried again. */
int dp_recv_batch(int fd, unsigned char *arena, int slot_bytes, int *lens, unsigned char *addrs, int max) {
  struct mmsghdr m[MAX_BATCH];
  struct iovec v[MAX_BATCH];
  if (max > MAX_BATCH) max = MAX_BATCH;
  for (int i = 0; i < max; i++) {
    v[i].base = arena + (long)i * slot_bytes; v[i].len = (size_t)slot_bytes;
    m[i].hdr.name = addrs + 16 * i; m[i].hdr.namelen = 16;
    m[i].hdr.iov = &v[i]; m[i].hdr.iovlen = 1;
    m[i].hdr.control = 0; m[i].hdr.controllen = 0; m[i].hdr.flags = 0; m[i].len = 0;
  }
  for (int pending = 0;;) {
    int r = recvmmsg(fd, m, (unsigned int)max, MSG_DONTWAIT, 0);
    if (r >= 0) {
      for (int i = 0; i < r; i++) lens[i] = (m[i].hdr.flags & MSG_TRUNC) ? -1 : (int)m[i].len;
      return r;
    }
    int e = *__errno_location();
    if (e == EAGAIN) return 0;
    if (e == EINTR) continue;
    if ((e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN) && ++pending <= MAX_PENDING_ERRORS) continue;
    return -e;
  }
}

/* Writes packet i (arena[offs[i] .. +lens[i])) to the TUN, for i < n. Returns how many the device
 * took; a packet it refused (its queue full) is dropped, as a full queue drops. */
int dp_write_batch(int fd, unsigned char *arena, int *offs, int *lens, int n) {
  int ok = 0;
  for (int i = 0; i < n; i++) {
    long r = write(fd, arena + offs[i], (size_t)lens[i]);
    if (r < 0 && *__errno_location() == EINTR) r = write(fd, arena + offs[i], (size_t)lens[i]);
    if (r >= 0) ok++;
  }
  return ok;
}

struct sockaddr_in4 { unsigned short family; unsigned short port; unsigned int addr; unsigned char zero[8]; };

/* A non-blocking, close-on-exec IPv4 UDP socket bound to 0.0.0.0:port (0: any). fd or -errno. */
int dp_udp_open(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -*__errno_location();
  struct sockaddr_in4 a;
  a.family = AF_INET;
  a.port = (unsigned short)(((port & 0xff) << 8) | ((port >> 8) & 0xff));
  a.addr = 0;
  for (int i = 0; i < 8; i++) a.zero[i] = 0;
  if (bind(fd, &a, 16) < 0) {
    int e = *__errno_location();
    close(fd);
    return -e;
  }
  return fd;
}

/* The local port a socket is bound to, or -errno. */
int dp_udp_port(int fd) {
  struct sockaddr_in4 a;
  socklen_t len = 16;
  if (getsockname(fd, &a, &len) < 0) return -*__errno_location();
  return ((a.port & 0xff) << 8) | ((a.port >> 8) & 0xff);
}

/* One datagram to the sockaddr_in at addr. Bytes sent or -errno; a pending ICMP error is cleared
 * by the call that reports it, so it is sent once more. */
int dp_send_to(int fd, unsigned char *buf, int len, unsigned char *addr) {
  for (int attempt = 0;; attempt++) {
    long r = sendto(fd, buf, (size_t)len, 0, addr, 16);
    if (r >= 0) return (int)r;
    int e = *__errno_location();
    if (e == EINTR) continue;
    if ((e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN) && attempt < 2) continue;
    return -e;
  }
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
