/*
 * inject-client: bin/qmail-inject and bin/sendmail (symbolic links to the
 * two executables built from this file, src/native/build/Release/qmail-inject
 * and .../sendmail; -DFOR_SENDMAIL selects the second).
 *
 *     qmail-inject [ args ... ]        sendmail [ args ... ]
 *
 * It asks the queue-injection service (qmail-queued, on the Unix socket
 * $QMAILHOME/qmail-queued/socket, QMAILHOME defaulting to /var/qmail) to
 * run the program in its long-lived process, which saves the 20-45 ms of a
 * Node start per message; the program's code, messages and exit codes are
 * the TypeScript ones either way (src/lib/inject/served.ts is the server
 * side and documents the protocol). When the service is not there, or
 * answers that this invocation needs a process of its own (QMAILQUEUE,
 * QMAILMFTFILE, sendmail -bp/-bs), it execs the Node program exactly as
 * every other bin/ launcher does (src/mkbins.ts): the checkout's pinned
 * node_modules/node/bin/node, NODE_FLAGS, dist/src/lib/launch.js, the
 * module, argv[0] as invoked and the arguments; the checkout is found
 * through /proc/self/exe. So behaviour never depends on the service running.
 *
 * It passes argv and the environment, copies descriptor 0 to the service
 * when asked (netstring chunks closed by `0:,`), then writes the program's
 * output to descriptors 1 and 2 and exits with its status. This file holds
 * no mail logic: no header, address or queue handling happens here.
 *
 * Exit codes: the program's; 111 with `qmail-inject: fatal: read error` when
 * descriptor 0 cannot be read, or `qmail-inject: fatal: communication with
 * mail server failed (#4.4.2)` when the service breaks the conversation
 * (qmail-queue(8)'s code 74, the same text qmail-inject gives for it);
 * 111 with `NAME: fatal: unable to run ...` when the Node program cannot be
 * exec'd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

#ifdef FOR_SENDMAIL
#define NAME "sendmail"
#else
#define NAME "qmail-inject"
#endif
/* The module launch.js runs, and NODE_FLAGS of src/mkbins.ts (test/launchers.test.ts checks both). */
#define MODULE "src/qmail/" NAME
#define NODE_FLAGS "--disable-warning=ExperimentalWarning"

static int sargc;
static char **sargv;

/* Run the Node program itself, as the sh launchers of src/mkbins.ts do. */
static void run_node(void)
{
  static char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *cut = n > 0 ? (exe[n] = 0, strstr(exe, "/src/native/build/")) : 0;
  if (!cut) {
    fprintf(stderr, NAME ": fatal: unable to run node: cannot find the checkout from /proc/self/exe\n");
    _exit(111);
  }
  *cut = 0;
  char **av = calloc((size_t)sargc + 5, sizeof *av);
  size_t rl = strlen(exe);
  char *node = malloc(rl + 32), *launch = malloc(rl + 32);
  if (!av || !node || !launch) _exit(111);
  sprintf(node, "%s/node_modules/node/bin/node", exe);
  sprintf(launch, "%s/dist/src/lib/launch.js", exe);
  av[0] = node;
  av[1] = NODE_FLAGS;
  av[2] = launch;
  av[3] = MODULE;
  for (int i = 0; i < sargc; i++) av[4 + i] = sargv[i];
  execv(node, av);
  fprintf(stderr, NAME ": fatal: unable to run %s: %s\n", node, strerror(errno));
  _exit(111);
}

static void die_comm(void)
{
  static const char m[] = "qmail-inject: fatal: communication with mail server failed (#4.4.2)\n";
  if (write(2, m, sizeof m - 1) < 0) { /* nothing to do */ }
  _exit(111);
}

/* A growing byte buffer. */
struct buf { char *p; size_t len, cap; };

static void put(struct buf *b, const void *d, size_t n)
{
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { fprintf(stderr, "qmail-inject: fatal: out of memory\n"); _exit(111); }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
}

/* Append the netstring of d[0..n). */
static void put_ns(struct buf *b, const void *d, size_t n)
{
  char h[24];
  int k = snprintf(h, sizeof h, "%zu:", n);
  put(b, h, (size_t)k);
  put(b, d, n);
  put(b, ",", 1);
}

/* Write all of p[0..n) to fd: with send() when sock (no SIGPIPE), else write(). */
static int write_all(int fd, const char *p, size_t n, int sock)
{
  while (n > 0) {
    ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Buffered reading of the service's answer. */
static char rbuf[65536];
static size_t rpos, rlen;

/* Make sure a byte is buffered; 0 at the end of the answer or on an error. */
static int fill(int s)
{
  if (rpos < rlen) return 1;
  ssize_t r;
  do r = read(s, rbuf, sizeof rbuf); while (r < 0 && errno == EINTR);
  if (r <= 0) return 0;
  rpos = 0;
  rlen = (size_t)r;
  return 1;
}

static int get_byte(int s)
{
  return fill(s) ? (unsigned char)rbuf[rpos++] : -1;
}

/* Read one netstring of the answer into b (reset first); dies on a broken one. */
static void get_ns(int s, struct buf *b)
{
  size_t n = 0;
  int c, digits = 0;
  b->len = 0;
  for (;;) {
    c = get_byte(s);
    if (c == ':' && digits > 0) break;
    if (c < '0' || c > '9' || ++digits > 10) die_comm();
    n = n * 10 + (size_t)(c - '0');
  }
  while (n > 0) {
    if (!fill(s)) die_comm();
    size_t k = rlen - rpos < n ? rlen - rpos : n;
    put(b, rbuf + rpos, k);
    rpos += k;
    n -= k;
  }
  if (get_byte(s) != ',') die_comm();
}

int main(int argc, char **argv)
{
  int i;
  sargc = argc;
  sargv = argv;
  if (argc < 1) run_node();

  const char *qq = getenv("QMAILQUEUE");
  if ((qq && *qq) || getenv("QMAILMFTFILE")) run_node();
  const char *home = getenv("QMAILHOME");
  if (!home || !*home) home = "/var/qmail";

  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/qmail-queued/socket", home) >= sizeof sa.sun_path) run_node();
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) run_node();
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(s);
    run_node();
  }

  /* The request: I, the program, argv (each argument ended by \0), the environment. */
  struct buf req = {0}, part = {0};
  put(&req, "I", 1);
  put_ns(&req, NAME, strlen(NAME));
  for (i = 0; i < argc; i++) put(&part, argv[i], strlen(argv[i]) + 1);
  put_ns(&req, part.p, part.len);
  part.len = 0;
  for (char **e = environ; *e; e++) put(&part, *e, strlen(*e) + 1);
  put_ns(&req, part.p, part.len);
  if (write_all(s, req.p, req.len, 1) < 0) die_comm();

  int c = get_byte(s);
  if (c == 'F' || c < 0) {
    /* fall back: nothing of ours was read from descriptor 0 yet */
    close(s);
    run_node();
  }
  if (c == 'G') {
    /* the message: descriptor 0 as netstring chunks, closed by 0:, */
    static char in[65536];
    for (;;) {
      ssize_t r = read(0, in, sizeof in);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        static const char e[] = "qmail-inject: fatal: read error\n";
        if (write(2, e, sizeof e - 1) < 0) { /* nothing to do */ }
        return 111;
      }
      req.len = 0;
      put_ns(&req, in, (size_t)r);
      if (write_all(s, req.p, req.len, 1) < 0) die_comm();
      if (r == 0) break;
    }
    c = get_byte(s);
  }
  if (c != 'R') die_comm();

  /* The answer: output for descriptor 1, for descriptor 2, and the exit status. */
  struct buf out = {0}, err = {0}, st = {0};
  get_ns(s, &out);
  get_ns(s, &err);
  get_ns(s, &st);
  put(&st, "", 1);
  char *end;
  long status = strtol(st.p, &end, 10);
  if (st.len < 2 || *end || status < 0 || status > 255) die_comm();
  if (out.len) write_all(1, out.p, out.len, 0);
  if (err.len) write_all(2, err.p, err.len, 0);
  return (int)status;
}
