/*
 * sys.c: the few POSIX calls Node.js does not expose, for daemontools and
 * ucspi-tcp semantics (flock, pipe, mkfifo, setsid, rlimits, fd flags, dup2,
 * uid/gid lookups stay in Node). Each function throws an Error whose .code is
 * the errno name (e.g. "EAGAIN") and .errno the positive errno value, so
 * callers can print DJB's error texts (src/lib/errstr.ts).
 *
 * Exports (all synchronous):
 *   flock(fd, op)            op: LOCK_SH=1 LOCK_EX=2 LOCK_NB=4 LOCK_UN=8
 *   pipe() -> [r, w]         both ends O_CLOEXEC
 *   mkfifo(path, mode)
 *   setsid() -> sid
 *   getrlimit(res) -> [soft, hard]   numbers; RLIM_INFINITY as -1
 *   setrlimit(res, soft, hard)       -1 means RLIM_INFINITY
 *   cloexec(fd, on)          set or clear FD_CLOEXEC
 *   nonblock(fd, on)         set or clear O_NONBLOCK
 *   dup2(from, to)
 *   close(fd)
 *   timeofday() -> [sec, usec]   gettimeofday(2), for TAI64N labels
 *   execve(path, argv, envp)  execve(2) as process.execve does it (fds 0-2
 *                            lose FD_CLOEXEC, which Node sets) plus SIGPIPE/
 *                            SIGXFSZ back to SIG_DFL (Node ignores them);
 *                            returns only by throwing, where process.execve
 *                            aborts the process on failure
 *   spawn(path, argv, envp, fd) -> pid   posix_spawn(3) (glibc: CLONE_VM|
 *                            CLONE_VFORK, no copy of the parent's page
 *                            tables): fd dup2'ed onto 0 and 1 (fd -1: 0
 *                            and 1 inherited), 2 inherited (its FD_CLOEXEC
 *                            cleared, as execve above), every signal at its
 *                            default action and an empty signal mask in the
 *                            child; other fds keep their FD_CLOEXEC. An exec
 *                            failure is thrown like any errno (ENOENT...)
 *   spawnAsync(path, argv, envp, fd, cb)  the same on the addon's thread
 *                            pool (pool.c), so
 *                            the event loop goes on while the kernel execs
 *                            (posix_spawn returns only after the exec);
 *                            cb(err, pid) on the loop; fd must stay open
 *                            until cb runs
 *   syncUnlink(fds, paths, cb[, extra])  in one job on the addon's thread
 *                            pool (pool.c): fsync(2) of 0 to 8
 *                            descriptors (data writeback of all started
 *                            first with sync_file_range), then, if all
 *                            succeeded, unlink(2) of 0 to 8 paths in order
 *                            (stopping at a failure other than ENOENT);
 *                            cb(null, errs) on the loop, errs[i] null or the
 *                            Error (.code, .errno) of fds[i] then paths[i]
 *                            (ECANCELED: not tried). extra: { signal: F }
 *                            records the first fsync's result in fence F;
 *                            { wait: F, link: [from, to, dir, trigger?] }
 *                            (wait optional) runs, between the fsyncs and
 *                            the unlinks, the wait for F's result on the
 *                            worker, link(from, to), one byte into FIFO
 *                            trigger, and fsync of directory dir, each only
 *                            if everything before succeeded; their three
 *                            results (awaited fsync, link, dir fsync) come
 *                            between the fds' and the paths' in errs
 *   fence() -> F             a fence for syncUnlink's extra (a job that
 *                            signals must be queued before any job that
 *                            waits for it; it never waits itself)
 *   waitpid(pid) -> status | undefined   waitpid(pid, WNOHANG): the raw wait
 *                            status, undefined while the child runs
 *   crypt(key, setting) -> hash | null   crypt(3) of libxcrypt (crypt_rn: every
 *                            scheme the system's shadow file may use: $y$,
 *                            $6$, $5$, $1$...); key is a Buffer, the work area
 *                            is zeroed afterwards; null when the setting is
 *                            invalid or the scheme unsupported
 *   peercred(fd) -> {pid, uid, gid}   getsockopt(fd, SOL_SOCKET, SO_PEERCRED)
 *                            of a connected Unix-domain socket: the peer's
 *                            credentials as the kernel recorded them at
 *                            connect(2) (they cannot be forged by the peer)
 *   rlimitNames -> {AS, CORE, DATA, FSIZE, MEMLOCK, NOFILE, NPROC, RSS, STACK, CPU}
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <crypt.h>
#include "pool.h"

static const char *errname(int e) {
  switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(EBADF) E(EAGAIN)
    E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(ENOTDIR) E(EISDIR)
    E(EINVAL) E(ENFILE) E(EMFILE) E(ENOSPC) E(EROFS) E(EPIPE) E(ENOLCK)
    E(ENAMETOOLONG) E(ELOOP) E(EDQUOT) E(ENOSYS)
    E(ENOEXEC) E(E2BIG) E(ETXTBSY) E(ELIBBAD) E(ECHILD) E(ECANCELED)
    E(ENOTSOCK) E(ENOPROTOOPT)
#undef E
    default: return "EUNKNOWN";
  }
}

/* The Error for errno e from call: message "call: strerror", .code, .errno. */
static napi_value errobj(napi_env env, const char *call, int e) {
  napi_value msg, code, err, num;
  char buf[256];
  snprintf(buf, sizeof buf, "%s: %s", call, strerror(e));
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, errname(e), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &err);
  napi_create_int32(env, e, &num);
  napi_set_named_property(env, err, "errno", num);
  return err;
}

static napi_value fail(napi_env env, const char *call) {
  napi_throw(env, errobj(env, call, errno));
  return NULL;
}

static int args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t got = n;
  napi_get_cb_info(env, info, &got, argv, NULL, NULL);
  if (got < n) {
    napi_throw_type_error(env, NULL, "not enough arguments");
    return 0;
  }
  return 1;
}

static int32_t i32(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value undef(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value a[2];
  if (!args(env, info, 2, a)) return NULL;
  if (flock(i32(env, a[0]), i32(env, a[1])) == -1) return fail(env, "flock");
  return undef(env);
}

static napi_value js_pipe(napi_env env, napi_callback_info info) {
  int fd[2];
  napi_value arr;
  (void)info;
  if (pipe2(fd, O_CLOEXEC) == -1) return fail(env, "pipe");
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, num(env, fd[0]));
  napi_set_element(env, arr, 1, num(env, fd[1]));
  return arr;
}

static napi_value js_mkfifo(napi_env env, napi_callback_info info) {
  napi_value a[2];
  char path[4096];
  size_t len;
  if (!args(env, info, 2, a)) return NULL;
  if (napi_get_value_string_utf8(env, a[0], path, sizeof path, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "path must be a string");
    return NULL;
  }
  if (mkfifo(path, (mode_t)i32(env, a[1])) == -1) return fail(env, "mkfifo");
  return undef(env);
}

static napi_value js_setsid(napi_env env, napi_callback_info info) {
  pid_t s;
  (void)info;
  s = setsid();
  if (s == -1) return fail(env, "setsid");
  return num(env, s);
}

static double lim(rlim_t r) { return r == RLIM_INFINITY ? -1 : (double)r; }
static rlim_t unlim(double d) { return d < 0 ? RLIM_INFINITY : (rlim_t)d; }

static napi_value js_getrlimit(napi_env env, napi_callback_info info) {
  napi_value a[1], arr;
  struct rlimit r;
  if (!args(env, info, 1, a)) return NULL;
  if (getrlimit(i32(env, a[0]), &r) == -1) return fail(env, "getrlimit");
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, num(env, lim(r.rlim_cur)));
  napi_set_element(env, arr, 1, num(env, lim(r.rlim_max)));
  return arr;
}

static napi_value js_setrlimit(napi_env env, napi_callback_info info) {
  napi_value a[3];
  struct rlimit r;
  double s, h;
  if (!args(env, info, 3, a)) return NULL;
  napi_get_value_double(env, a[1], &s);
  napi_get_value_double(env, a[2], &h);
  r.rlim_cur = unlim(s);
  r.rlim_max = unlim(h);
  if (setrlimit(i32(env, a[0]), &r) == -1) return fail(env, "setrlimit");
  return undef(env);
}

/* fdflag(fd, on): set (on) or clear one bit of a descriptor's flags,
 * read with getcmd and written with setcmd (F_GETFD/F_SETFD for
 * FD_CLOEXEC, F_GETFL/F_SETFL for O_NONBLOCK); throws as fail("fcntl"). */
static napi_value fdflag(napi_env env, napi_callback_info info, int getcmd, int setcmd, int bit) {
  napi_value a[2];
  bool on;
  int fd, fl;
  if (!args(env, info, 2, a)) return NULL;
  fd = i32(env, a[0]);
  napi_get_value_bool(env, a[1], &on);
  fl = fcntl(fd, getcmd);
  if (fl == -1) return fail(env, "fcntl");
  if (fcntl(fd, setcmd, on ? (fl | bit) : (fl & ~bit)) == -1) return fail(env, "fcntl");
  return undef(env);
}

static napi_value js_cloexec(napi_env env, napi_callback_info info) {
  return fdflag(env, info, F_GETFD, F_SETFD, FD_CLOEXEC);
}

static napi_value js_nonblock(napi_env env, napi_callback_info info) {
  return fdflag(env, info, F_GETFL, F_SETFL, O_NONBLOCK);
}

static napi_value js_dup2(napi_env env, napi_callback_info info) {
  napi_value a[2];
  if (!args(env, info, 2, a)) return NULL;
  if (dup2(i32(env, a[0]), i32(env, a[1])) == -1) return fail(env, "dup2");
  return undef(env);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (!args(env, info, 1, a)) return NULL;
  if (close(i32(env, a[0])) == -1) return fail(env, "close");
  return undef(env);
}

static napi_value js_timeofday(napi_env env, napi_callback_info info) {
  struct timeval tv;
  napi_value arr;
  (void)info;
  if (gettimeofday(&tv, NULL) == -1) return fail(env, "gettimeofday");
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, num(env, (double)tv.tv_sec));
  napi_set_element(env, arr, 1, num(env, (double)tv.tv_usec));
  return arr;
}

/* A JS array of strings as a NULL-terminated, malloc'ed vector (NULL on error). */
static char **strv(napi_env env, napi_value arr) {
  uint32_t n, i;
  char **v;
  if (napi_get_array_length(env, arr, &n) != napi_ok) return NULL;
  v = calloc((size_t)n + 1, sizeof *v);
  if (!v) return NULL;
  for (i = 0; i < n; i++) {
    napi_value e;
    size_t len;
    napi_get_element(env, arr, i, &e);
    if (napi_get_value_string_utf8(env, e, NULL, 0, &len) != napi_ok) break;
    v[i] = malloc(len + 1);
    if (!v[i]) break;
    napi_get_value_string_utf8(env, e, v[i], len + 1, &len);
  }
  if (i < n) {
    while (i > 0) free(v[--i]);
    free(v);
    return NULL;
  }
  return v;
}

static void strvfree(char **v) {
  char **p;
  if (!v) return;
  for (p = v; *p; p++) free(*p);
  free(v);
}

static napi_value js_execve(napi_env env, napi_callback_info info) {
  napi_value a[3];
  char path[4096];
  size_t len;
  char **av, **ev;
  struct sigaction dfl, opipe, oxfsz;
  int e;
  if (!args(env, info, 3, a)) return NULL;
  if (napi_get_value_string_utf8(env, a[0], path, sizeof path, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "path must be a string");
    return NULL;
  }
  av = strv(env, a[1]);
  ev = strv(env, a[2]);
  if (!av || !ev) {
    strvfree(av);
    strvfree(ev);
    napi_throw_type_error(env, NULL, "argv and envp must be arrays of strings");
    return NULL;
  }
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGPIPE, &dfl, &opipe);
  sigaction(SIGXFSZ, &dfl, &oxfsz);
  for (e = 0; e < 3; e++) {
    int fl = fcntl(e, F_GETFD);
    if (fl != -1) fcntl(e, F_SETFD, fl & ~FD_CLOEXEC);
  }
  execve(path, av, ev);
  e = errno;
  sigaction(SIGPIPE, &opipe, NULL);
  sigaction(SIGXFSZ, &oxfsz, NULL);
  strvfree(av);
  strvfree(ev);
  errno = e;
  return fail(env, "execve");
}

/* One posix_spawn request: what js_spawn / js_spawnAsync collected. */
struct spawnreq {
  struct pooljob job; /* first: pool.c's view of it (spawnAsync) */
  char *path;
  char **av, **ev;
  int fd;
  int rc;      /* 0 or the error number */
  pid_t pid;
  napi_ref cb;
};

static void spawnreq_free(struct spawnreq *r) {
  if (!r) return;
  free(r->path);
  strvfree(r->av);
  strvfree(r->ev);
  free(r);
}

/* Collect (path, argv, envp, fd) from JS; NULL (a TypeError thrown) on bad arguments. */
static struct spawnreq *spawnreq_new(napi_env env, napi_value *a) {
  struct spawnreq *r;
  size_t len;
  r = calloc(1, sizeof *r);
  if (!r) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, a[0], NULL, 0, &len) != napi_ok || !(r->path = malloc(len + 1))) {
    spawnreq_free(r);
    napi_throw_type_error(env, NULL, "path must be a string");
    return NULL;
  }
  napi_get_value_string_utf8(env, a[0], r->path, len + 1, &len);
  r->fd = i32(env, a[3]);
  r->av = strv(env, a[1]);
  r->ev = strv(env, a[2]);
  if (!r->av || !r->ev) {
    spawnreq_free(r);
    napi_throw_type_error(env, NULL, "argv and envp must be arrays of strings");
    return NULL;
  }
  return r;
}

/* posix_spawn as the header comment describes; sets r->rc and r->pid. Thread-safe. */
static void spawnreq_run(struct spawnreq *r) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t all, none;
  int fd = r->fd, fl, rc;
  fl = fcntl(2, F_GETFD);
  if (fl != -1 && (fl & FD_CLOEXEC)) fcntl(2, F_SETFD, fl & ~FD_CLOEXEC);
  sigfillset(&all);
  sigemptyset(&none);
  rc = posix_spawn_file_actions_init(&fa);
  if (rc) {
    r->rc = rc;
    return;
  }
  if (fd >= 0) {
    /* dup2(fd, fd) does nothing to FD_CLOEXEC: go through a third fd then */
    if (fd == 0 || fd == 1) {
      rc = posix_spawn_file_actions_adddup2(&fa, fd, 3);
      fd = 3;
    }
    if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, fd, 0);
    if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, fd, 1);
    if (!rc && fd == 3) rc = posix_spawn_file_actions_addclose(&fa, 3);
  }
  if (!rc) {
    rc = posix_spawnattr_init(&at);
    if (!rc) {
      rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
      if (!rc) rc = posix_spawnattr_setsigdefault(&at, &all);
      if (!rc) rc = posix_spawnattr_setsigmask(&at, &none);
      if (!rc) rc = posix_spawn(&r->pid, r->path, &fa, &at, r->av, r->ev);
      posix_spawnattr_destroy(&at);
    }
  }
  posix_spawn_file_actions_destroy(&fa);
  r->rc = rc;
}

static napi_value js_spawn(napi_env env, napi_callback_info info) {
  napi_value a[4];
  struct spawnreq *r;
  pid_t pid;
  int rc;
  if (!args(env, info, 4, a)) return NULL;
  if (!(r = spawnreq_new(env, a))) return NULL;
  spawnreq_run(r);
  rc = r->rc;
  pid = r->pid;
  spawnreq_free(r);
  if (rc) {
    errno = rc;
    return fail(env, "posix_spawn");
  }
  return num(env, pid);
}

static void spawn_run(struct pooljob *j) {
  spawnreq_run((struct spawnreq *)j);
}

static void spawn_done(napi_env env, napi_async_context actx, struct pooljob *j) {
  struct spawnreq *r = (struct spawnreq *)j;
  napi_value argv[2];
  if (r->rc) {
    argv[0] = errobj(env, "posix_spawn", r->rc);
    argv[1] = undef(env);
  } else {
    napi_get_null(env, &argv[0]);
    argv[1] = num(env, r->pid);
  }
  pool_callback(env, actx, r->cb, 2, argv);
  spawnreq_free(r);
}

static void spawn_release(struct pooljob *j) {
  spawnreq_free((struct spawnreq *)j);
}

static napi_value js_spawnAsync(napi_env env, napi_callback_info info) {
  napi_value a[5];
  struct spawnreq *r;
  napi_valuetype t;
  if (!args(env, info, 5, a)) return NULL;
  if (napi_typeof(env, a[4], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "callback must be a function");
    return NULL;
  }
  if (!(r = spawnreq_new(env, a))) return NULL;
  if ((errno = pool_start(env, &r->job, spawn_run, spawn_done, spawn_release, a[4], &r->cb)) != 0) {
    spawnreq_free(r);
    return fail(env, "spawnAsync");
  }
  return undef(env);
}

/*
 * syncUnlink: several fsyncs, then several unlinks, in one job on the
 * addon's own thread pool (pool.c: one thread wake-up each way instead of
 * one per call, and no second wake-up for libuv's pool mutex: a round trip
 * costs tens of microseconds of CPU on this project's VMs). sync_file_range(WRITE) first
 * starts every file's data writeback, so the devices see the writes
 * together; then each fsync waits for its file's data, writes its metadata
 * and flushes the device cache (measured on a virtio disk: the same wall
 * time as fsyncs in parallel threads, less CPU). The unlinks run only when
 * every fsync succeeded, in the order given, each after the one before it
 * is done (qmail's queue order: what a crash leaves is what the original
 * leaves); ENOENT counts as done, any other failure stops the chain and
 * the rest are reported ECANCELED.
 */
#define SYNC_MAX 8

/*
 * A fence: one job's fsync result, awaited by a later job on another
 * worker (fence(); syncUnlink's `signal` and `wait`). Reference-counted:
 * the JS object holds one reference, each job that names it another.
 */
struct fence {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done, err, refs;
};

static void fence_unref(struct fence *f) {
  int left;
  pthread_mutex_lock(&f->mu);
  left = --f->refs;
  pthread_mutex_unlock(&f->mu);
  if (left) return;
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->cv);
  free(f);
}

static void fence_ref(struct fence *f) {
  pthread_mutex_lock(&f->mu);
  f->refs++;
  pthread_mutex_unlock(&f->mu);
}

struct syncreq {
  struct pooljob job; /* first: pool.c's view of it */
  napi_ref cb;
  uint32_t nfds, npaths;
  int fds[SYNC_MAX];
  char *paths[SYNC_MAX];
  struct fence *signal, *wait;
  char *lfrom, *lto, *ldir; /* the link step: link(lfrom, lto), then fsync of directory ldir */
  char *ltrigger; /* after the link, one byte into this FIFO (qmail's trigger), if set */
  int errs[2 * SYNC_MAX + 3]; /* fds', [the awaited fence's, link's, ldir's,] then paths' */
};

static void syncreq_free(struct syncreq *r) {
  uint32_t i;
  for (i = 0; i < r->npaths; i++) free(r->paths[i]);
  if (r->signal) fence_unref(r->signal);
  if (r->wait) fence_unref(r->wait);
  free(r->lfrom);
  free(r->lto);
  free(r->ldir);
  free(r->ltrigger);
  free(r);
}

/* Number of error slots between the fds' and the paths': 3 with a link step, else 0. */
static uint32_t mid_slots(const struct syncreq *r) {
  return r->lfrom ? 3 : 0;
}

/* fsync of directory path: 0 or an errno (EINVAL, nothing to sync for a directory there, counts as done) */
static int fsync_dir(const char *path) {
  int fd, rc, e = 0;
  do fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd == -1 && errno == EINTR);
  if (fd == -1) return errno;
  do rc = fsync(fd);
  while (rc == -1 && errno == EINTR);
  if (rc == -1 && errno != EINVAL) e = errno;
  close(fd);
  return e;
}

/* triggerpull.c: one byte into path, opened O_WRONLY|O_NONBLOCK (ENXIO while nobody reads a FIFO), every error ignored */
static void pull_trigger(const char *path) {
  int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd == -1) return;
  if (write(fd, "", 1) == -1) { /* ignored, as the original's */
  }
  close(fd);
}

static void sync_run(struct pooljob *j) {
  struct syncreq *r = (struct syncreq *)j;
  uint32_t i, m = r->nfds + mid_slots(r);
  int rc, failed = 0;
  if (r->nfds > 1)
    for (i = 0; i < r->nfds; i++) sync_file_range(r->fds[i], 0, 0, SYNC_FILE_RANGE_WRITE); /* a hint: fsync reports */
  for (i = 0; i < r->nfds; i++) {
    do rc = fsync(r->fds[i]);
    while (rc == -1 && errno == EINTR);
    r->errs[i] = rc == -1 ? errno : 0;
    if (rc == -1) failed = 1;
  }
  if (r->signal) {
    pthread_mutex_lock(&r->signal->mu);
    r->signal->done = 1;
    r->signal->err = r->nfds ? r->errs[0] : 0;
    pthread_cond_broadcast(&r->signal->cv);
    pthread_mutex_unlock(&r->signal->mu);
  }
  if (r->lfrom) {
    int *e = &r->errs[r->nfds];
    if (r->wait) {
      /* the job that signals it was queued before this one (FIFO) and never waits itself: it is running or done */
      pthread_mutex_lock(&r->wait->mu);
      while (!r->wait->done) pthread_cond_wait(&r->wait->cv, &r->wait->mu);
      e[0] = r->wait->err;
      pthread_mutex_unlock(&r->wait->mu);
      if (e[0]) failed = 1;
    }
    if (failed) e[1] = e[2] = ECANCELED;
    else {
      e[1] = link(r->lfrom, r->lto) == -1 ? errno : 0;
      if (e[1]) {
        failed = 1;
        e[2] = ECANCELED;
      } else {
        if (r->ltrigger) pull_trigger(r->ltrigger);
        if ((e[2] = fsync_dir(r->ldir)) != 0) failed = 1;
      }
    }
  }
  for (i = 0; i < r->npaths; i++) {
    if (failed) {
      r->errs[m + i] = ECANCELED;
      continue;
    }
    rc = unlink(r->paths[i]);
    r->errs[m + i] = rc == -1 ? errno : 0;
    if (rc == -1 && errno != ENOENT) failed = 1;
  }
}

static void sync_done(napi_env env, napi_async_context actx, struct pooljob *j) {
  struct syncreq *r = (struct syncreq *)j;
  napi_value argv[2], e;
  static const char *mid[3] = {"fsync", "link", "fsync"};
  uint32_t i, m = r->nfds + mid_slots(r), n = m + r->npaths;
  napi_get_null(env, &argv[0]);
  napi_create_array_with_length(env, n, &argv[1]);
  for (i = 0; i < n; i++) {
    if (r->errs[i]) e = errobj(env, i < r->nfds ? "fsync" : i < m ? mid[i - r->nfds] : "unlink", r->errs[i]);
    else napi_get_null(env, &e);
    napi_set_element(env, argv[1], i, e);
  }
  pool_callback(env, actx, r->cb, 2, argv);
  syncreq_free(r);
}

static void sync_release(struct pooljob *j) {
  syncreq_free((struct syncreq *)j);
}

/* A copy of string v (malloc'ed), or NULL when v is not a string or memory is short. */
static char *strdup_js(napi_env env, napi_value v) {
  size_t len;
  char *p;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || !(p = malloc(len + 1))) return NULL;
  napi_get_value_string_utf8(env, v, p, len + 1, &len);
  return p;
}

/* The fence behind external v, or NULL. */
static struct fence *fence_of(napi_env env, napi_value v) {
  void *f = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  napi_get_value_external(env, v, &f);
  return f;
}

/*
 * syncUnlink's 4th argument: { signal?: fence, wait?: fence, link?: [from,
 * to, dir, trigger?] }; 0, or -1 with a TypeError thrown.
 */
static int sync_extra(napi_env env, napi_value o, struct syncreq *r) {
  napi_value v, x;
  napi_valuetype t;
  bool has, isarr = false;
  uint32_t n = 0, i;
  char **dst[4];
  if (napi_typeof(env, o, &t) != napi_ok || t == napi_undefined) return 0;
  if (t != napi_object) goto bad;
  if (napi_has_named_property(env, o, "signal", &has) == napi_ok && has) {
    napi_get_named_property(env, o, "signal", &v);
    if (!(r->signal = fence_of(env, v))) goto bad;
    fence_ref(r->signal);
  }
  if (napi_has_named_property(env, o, "wait", &has) == napi_ok && has) {
    napi_get_named_property(env, o, "wait", &v);
    if (!(r->wait = fence_of(env, v))) goto bad;
    fence_ref(r->wait);
  }
  if (napi_has_named_property(env, o, "link", &has) == napi_ok && has) {
    napi_get_named_property(env, o, "link", &v);
    napi_is_array(env, v, &isarr);
    if (isarr) napi_get_array_length(env, v, &n);
    if (n != 3 && n != 4) goto bad;
    dst[0] = &r->lfrom, dst[1] = &r->lto, dst[2] = &r->ldir, dst[3] = &r->ltrigger;
    for (i = 0; i < n; i++) {
      napi_get_element(env, v, i, &x);
      if (!(*dst[i] = strdup_js(env, x))) goto bad;
    }
  }
  if (r->wait && !r->lfrom) goto bad;
  return 0;
bad:
  napi_throw_type_error(env, NULL, "syncUnlink: the 4th argument is { signal?: fence, wait?: fence (with link), link?: [from, to, dir, trigger?] }");
  return -1;
}

static napi_value js_syncUnlink(napi_env env, napi_callback_info info) {
  napi_value a[4], v;
  napi_valuetype t;
  struct syncreq *r;
  uint32_t i, nf = 0, np = 0;
  bool fa = false, pa = false;
  size_t argc = 4;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "not enough arguments");
    return NULL;
  }
  if (argc < 4) napi_get_undefined(env, &a[3]);
  napi_is_array(env, a[0], &fa);
  napi_is_array(env, a[1], &pa);
  if (fa) napi_get_array_length(env, a[0], &nf);
  if (pa) napi_get_array_length(env, a[1], &np);
  if (!fa || !pa || nf > SYNC_MAX || np > SYNC_MAX || nf + np == 0 || napi_typeof(env, a[2], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "syncUnlink(fds: number[0..8], paths: string[0..8], cb: function), not both empty");
    return NULL;
  }
  if (!(r = calloc(1, sizeof *r))) {
    errno = ENOMEM;
    return fail(env, "syncUnlink");
  }
  r->nfds = nf;
  for (i = 0; i < nf; i++) {
    napi_get_element(env, a[0], i, &v);
    r->fds[i] = i32(env, v);
  }
  for (i = 0; i < np; i++) {
    napi_get_element(env, a[1], i, &v);
    if (!(r->paths[i] = strdup_js(env, v))) {
      syncreq_free(r);
      napi_throw_type_error(env, NULL, "syncUnlink: paths must be strings");
      return NULL;
    }
    r->npaths = i + 1;
  }
  if (sync_extra(env, a[3], r) != 0) {
    syncreq_free(r);
    return NULL;
  }
  if ((errno = pool_start(env, &r->job, sync_run, sync_done, sync_release, a[2], &r->cb)) != 0) {
    syncreq_free(r);
    return fail(env, "syncUnlink");
  }
  return undef(env);
}

static void fence_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  fence_unref(data);
}

static napi_value js_fence(napi_env env, napi_callback_info info) {
  struct fence *f;
  napi_value v;
  (void)info;
  if (!(f = calloc(1, sizeof *f))) {
    errno = ENOMEM;
    return fail(env, "fence");
  }
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cv, NULL);
  f->refs = 1;
  if (napi_create_external(env, f, fence_finalize, NULL, &v) != napi_ok) {
    fence_unref(f);
    errno = ENOMEM;
    return fail(env, "fence");
  }
  return v;
}

static napi_value js_waitpid(napi_env env, napi_callback_info info) {
  napi_value a[1];
  int st;
  pid_t r;
  if (!args(env, info, 1, a)) return NULL;
  do r = waitpid((pid_t)i32(env, a[0]), &st, WNOHANG);
  while (r == -1 && errno == EINTR);
  if (r == -1) return fail(env, "waitpid");
  if (r == 0) return undef(env);
  return num(env, st);
}

static napi_value js_crypt(napi_env env, napi_callback_info info) {
  napi_value a[2], out;
  void *data;
  size_t klen, slen;
  char *key, setting[512];
  struct crypt_data *cd;
  const char *h;
  if (!args(env, info, 2, a)) return NULL;
  if (napi_get_buffer_info(env, a[0], &data, &klen) != napi_ok ||
      napi_get_value_string_utf8(env, a[1], setting, sizeof setting, &slen) != napi_ok) {
    napi_throw_type_error(env, NULL, "crypt(key: Buffer, setting: string)");
    return NULL;
  }
  cd = calloc(1, sizeof *cd);
  key = malloc(klen + 1);
  if (!cd || !key) {
    free(cd);
    free(key);
    errno = ENOMEM;
    return fail(env, "crypt");
  }
  memcpy(key, data, klen);
  key[klen] = 0;
  h = crypt_rn(key, setting, cd, sizeof *cd);
  if (h && h[0] != '*') napi_create_string_utf8(env, h, NAPI_AUTO_LENGTH, &out);
  else napi_get_null(env, &out);
  explicit_bzero(key, klen);
  explicit_bzero(cd, sizeof *cd);
  free(key);
  free(cd);
  return out;
}

static napi_value js_peercred(napi_env env, napi_callback_info info) {
  napi_value a[1], out;
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (!args(env, info, 1, a)) return NULL;
  if (getsockopt(i32(env, a[0]), SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1) return fail(env, "getsockopt");
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "pid", num(env, cr.pid));
  napi_set_named_property(env, out, "uid", num(env, cr.uid));
  napi_set_named_property(env, out, "gid", num(env, cr.gid));
  return out;
}

static void put(napi_env env, napi_value obj, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, obj, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value names;
  put(env, exports, "flock", js_flock);
  put(env, exports, "pipe", js_pipe);
  put(env, exports, "mkfifo", js_mkfifo);
  put(env, exports, "setsid", js_setsid);
  put(env, exports, "getrlimit", js_getrlimit);
  put(env, exports, "setrlimit", js_setrlimit);
  put(env, exports, "cloexec", js_cloexec);
  put(env, exports, "nonblock", js_nonblock);
  put(env, exports, "dup2", js_dup2);
  put(env, exports, "close", js_close);
  put(env, exports, "timeofday", js_timeofday);
  put(env, exports, "execve", js_execve);
  put(env, exports, "spawn", js_spawn);
  put(env, exports, "spawnAsync", js_spawnAsync);
  put(env, exports, "waitpid", js_waitpid);
  put(env, exports, "syncUnlink", js_syncUnlink);
  put(env, exports, "fence", js_fence);
  put(env, exports, "crypt", js_crypt);
  put(env, exports, "peercred", js_peercred);
  napi_create_object(env, &names);
#define R(x) napi_set_named_property(env, names, #x, num(env, RLIMIT_##x));
  R(AS) R(CORE) R(DATA) R(FSIZE) R(MEMLOCK) R(NOFILE) R(NPROC) R(RSS) R(STACK) R(CPU)
#undef R
  napi_set_named_property(env, exports, "rlimitNames", names);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
