/* Batched TUN reads for bun:ffi `cc` (TinyCC). One FFI call moves up to `max` packets, so the
 * per-call JS<->C transition is paid once per batch instead of once per packet.
 * No system headers: TinyCC inside Bun has none, so we declare the few libc calls we use.
 * (Batched writes were measured too and did not clearly beat one FFI write per packet:
 * scripts/bench/tun-io-write-batch.c.)
 * Return convention: >= 0 is a packet count; < 0 is -errno of a call that moved nothing. */

typedef long ssize_t;
typedef unsigned long size_t;
struct pollfd { int fd; short events; short revents; };
extern int poll(struct pollfd *fds, unsigned long nfds, int timeout);
extern ssize_t read(int fd, void *buf, size_t count);
extern int *__errno_location(void);

#define EINTR 4
#define EAGAIN 11
#define POLLIN 0x1

/* Reads packets until EAGAIN or `max` into ring slots first, first+1, ... (wrapping at `slots`);
 * lens[slot] gets each length. When nothing is readable it waits up to timeout_ms in poll once,
 * then tries again. Returns the count read (0 = timeout) or -errno if the first read failed.
 * An error after some packets is left for the next call to report. */
int tun_read_batch(int fd, int timeout_ms, unsigned char *data, int *lens, int slots,
                   int slot_size, int first, int max) {
  int n = 0;
  int slot = first;
  int polled = 0;
  while (n < max) {
    ssize_t r = read(fd, data + (long)slot * slot_size, (size_t)slot_size);
    if (r >= 0) {
      lens[slot] = (int)r;
      n++;
      slot++;
      if (slot == slots) slot = 0;
      continue;
    }
    int e = *__errno_location();
    if (e == EINTR) continue;
    if (e != EAGAIN) return n > 0 ? n : -e;
    if (n > 0 || polled || timeout_ms <= 0) return n;
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    int pr = poll(&p, 1, timeout_ms);
    if (pr < 0) {
      e = *__errno_location();
      if (e != EINTR) return -e;
    }
    if (pr == 0) return 0;
    polled = 1;
  }
  return n;
}
