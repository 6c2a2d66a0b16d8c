/*
 * qmail-queue-baseline: the C reference for bench/qmail-queue.ts. Performs
 * qmail-queue's system-call sequence (INTERNALS section 3) in plain C, written
 * for this project: create pid/PID.TIME.SEQ exclusively, fstat for the inode,
 * link to mess/(ino%split)/ino, unlink, write Received line + message, fsync,
 * create intd/ino, write the envelope, fsync, link todo/ino, poke lock/trigger.
 *
 *   qmail-queue-baseline QUEUEDIR SPLIT 0      one message: fd 0 message, fd 1 envelope
 *   qmail-queue-baseline QUEUEDIR SPLIT N      N messages from built-in buffers
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char msgbuf[1 << 20], envbuf[65536];

static size_t slurp(int fd, char *b, size_t max) {
  size_t n = 0;
  ssize_t r;
  while (n < max && (r = read(fd, b + n, max - n)) > 0) n += (size_t)r;
  return n;
}

static int one(const char *q, unsigned long split, const char *msg, size_t mlen, const char *env, size_t elen, unsigned long seq) {
  char pidfn[256], messfn[256], intdfn[256], todofn[256], hdr[128], pre[64];
  struct stat st;
  int fd, ifd;
  snprintf(pidfn, sizeof pidfn, "%s/pid/%ld.%ld.%lu", q, (long)getpid(), (long)time(0), seq);
  if ((fd = open(pidfn, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1) return 63;
  if (fstat(fd, &st) == -1) return 63;
  snprintf(messfn, sizeof messfn, "%s/mess/%lu/%lu", q, (unsigned long)st.st_ino % split, (unsigned long)st.st_ino);
  snprintf(intdfn, sizeof intdfn, "%s/intd/%lu", q, (unsigned long)st.st_ino);
  snprintf(todofn, sizeof todofn, "%s/todo/%lu", q, (unsigned long)st.st_ino);
  if (link(pidfn, messfn) == -1) return 64;
  if (unlink(pidfn) == -1) return 63;
  int hl = snprintf(hdr, sizeof hdr, "Received: (qmail %ld invoked by uid %ld); 1 Jan 2000 00:00:00 -0000\n", (long)getpid(), (long)getuid());
  if (write(fd, hdr, hl) != hl || write(fd, msg, mlen) != (ssize_t)mlen || fsync(fd) == -1) return 53;
  close(fd);
  if ((ifd = open(intdfn, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1) return 65;
  int pl = snprintf(pre, sizeof pre, "u%ld%cp%ld%c", (long)getuid(), 0, (long)getpid(), 0);
  if (write(ifd, pre, pl) != pl || write(ifd, env, elen - 1) != (ssize_t)(elen - 1) || fsync(ifd) == -1) return 53;
  close(ifd);
  if (link(intdfn, todofn) == -1) return 66;
  char tf[256];
  snprintf(tf, sizeof tf, "%s/lock/trigger", q);
  int t = open(tf, O_WRONLY | O_NONBLOCK);
  if (t >= 0) { if (write(t, "", 1) < 0) {} close(t); }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) return 100;
  unsigned long split = strtoul(argv[2], 0, 10), n = strtoul(argv[3], 0, 10);
  if (n == 0) {
    size_t ml = slurp(0, msgbuf, sizeof msgbuf), el = slurp(1, envbuf, sizeof envbuf);
    return one(argv[1], split, msgbuf, ml, envbuf, el, 1);
  }
  memset(msgbuf, 'x', 512);
  msgbuf[511] = '\n';
  static const char env[] = "Fs@x.example\0Tr@y.example\0";
  for (unsigned long i = 1; i <= n; i++) {
    int r = one(argv[1], split, msgbuf, 512, env, sizeof env, i);
    if (r) return r;
  }
  return 0;
}
