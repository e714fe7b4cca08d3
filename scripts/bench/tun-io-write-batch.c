/* Batched TUN writes, measured by scripts/bench/tun-io.ts against one bun:ffi write per packet.
 * Not used by ffi/: the gain was within the noise (see the bench output). */
typedef long ssize_t;
typedef unsigned long size_t;
extern ssize_t write(int fd, const void *buf, size_t count);
extern int *__errno_location(void);
#define EINTR 4

/* Writes `count` packets whose addresses are in ptrs[] and lengths in lens[]. Stops at the first
 * error. Returns the number written; if the first write failed, -errno. */
int tun_write_batch(int fd, unsigned char **ptrs, int *lens, int count) {
  int n = 0;
  while (n < count) {
    ssize_t r = write(fd, ptrs[n], (size_t)lens[n]);
    if (r < 0) {
      int e = *__errno_location();
      if (e == EINTR) continue;
      return n > 0 ? n : -e;
    }
    n++;
  }
  return n;
}

/* Writes `count` packets laid out back to back in `data` with lengths in lens[]. */
int tun_write_packed(int fd, unsigned char *data, int *lens, int count) {
  int n = 0;
  long off = 0;
  while (n < count) {
    ssize_t r = write(fd, data + off, (size_t)lens[n]);
    if (r < 0) {
      int e = *__errno_location();
      if (e == EINTR) continue;
      return n > 0 ? n : -e;
    }
    off += lens[n];
    n++;
  }
  return n;
}
