/*
 * pool.c: a small thread pool of the addon's own for its blocking jobs
 * (syncUnlink: fsyncs and unlinks that wait for the device; spawnAsync:
 * posix_spawn, which returns once the child has exec'd), in place of
 * libuv's pool (napi_queue_async_work).
 *
 * Why: libuv's pool signals its condition variable while it still holds
 * the queue's mutex, so the woken worker, running at once on the other
 * CPU, blocks on that mutex and has to be woken a second time when the
 * submitter unlocks: two futex wake-ups (each an inter-processor interrupt,
 * a VM exit on this project's machines, tens of microseconds) and an extra
 * context switch per job (and glibc's condition variables add futex calls
 * of their own). Here a job is queued under a mutex held only for the
 * list operation and announced with a semaphore after the unlock: one
 * futex wake-up when a worker sleeps, none when one is awake. Jobs run in
 * FIFO order on up to POOL_THREADS threads, made when needed and kept.
 *
 * Completion: each worker appends the finished job to its environment's
 * done list and calls uv_async_send on that environment's handle; the
 * handle's callback, on the loop thread, calls every finished job's done()
 * inside a handle scope. The handle is referenced only while jobs are out,
 * so it never keeps a process alive by itself. An environment torn down
 * with jobs out (a worker thread ending) is marked dead and left allocated:
 * its late jobs are freed by the workers without calling back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <uv.h>
#include "pool.h"


#define POOL_THREADS 4

struct poolenv {
  uv_async_t async;
  napi_env env;
  napi_async_context actx;
  pthread_mutex_t mu; /* done list, dead */
  struct pooljob *done_head, *done_tail;
  int dead;
  int outstanding; /* loop thread only */
};

static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER; /* the queue, nqueued, idle, nthreads */
static sem_t qsem; /* one count per queued job */
static pthread_once_t qonce = PTHREAD_ONCE_INIT;
static struct pooljob *qhead, *qtail;
static int nqueued, idle, nthreads;

static void qinit(void) {
  sem_init(&qsem, 0, 0);
}

static void *worker(void *arg) {
  struct pooljob *j;
  struct poolenv *pe;
  (void)arg;
  pthread_setname_np(pthread_self(), "sys-pool");
  for (;;) {
    pthread_mutex_lock(&qmu);
    idle++;
    pthread_mutex_unlock(&qmu);
    while (sem_wait(&qsem) == -1 && errno == EINTR)
      ;
    pthread_mutex_lock(&qmu);
    idle--;
    nqueued--;
    j = qhead;
    qhead = j->next;
    if (!qhead) qtail = NULL;
    pthread_mutex_unlock(&qmu);
    j->run(j);
    pe = j->pe;
    j->next = NULL;
    pthread_mutex_lock(&pe->mu);
    if (pe->dead) {
      pthread_mutex_unlock(&pe->mu);
      j->release(j);
      continue;
    }
    if (pe->done_tail) pe->done_tail->next = j;
    else pe->done_head = j;
    pe->done_tail = j;
    uv_async_send(&pe->async); /* under pe->mu: the cleanup hook cannot close the handle meanwhile */
    pthread_mutex_unlock(&pe->mu);
  }
  return NULL;
}

/* On the loop thread: every finished job's done(), then drop the loop reference when none is out. */
static void on_done(uv_async_t *a) {
  struct poolenv *pe = a->data;
  struct pooljob *j, *n;
  napi_handle_scope hs;
  pthread_mutex_lock(&pe->mu);
  j = pe->done_head;
  pe->done_head = pe->done_tail = NULL;
  pthread_mutex_unlock(&pe->mu);
  if (!j) return;
  napi_open_handle_scope(pe->env, &hs);
  for (; j; j = n) {
    n = j->next;
    pe->outstanding--;
    j->done(pe->env, pe->actx, j);
  }
  if (pe->outstanding == 0) uv_unref((uv_handle_t *)&pe->async);
  napi_close_handle_scope(pe->env, hs);
}

static void on_closed(uv_handle_t *h) {
  struct poolenv *pe = h->data;
  pthread_mutex_destroy(&pe->mu);
  free(pe);
}

static void cleanup(void *arg) {
  struct poolenv *pe = arg;
  int out;
  pthread_mutex_lock(&pe->mu);
  pe->dead = 1;
  out = pe->outstanding;
  pthread_mutex_unlock(&pe->mu);
  napi_async_destroy(pe->env, pe->actx);
  /* with jobs out, workers still touch pe->mu: leave it allocated */
  uv_close((uv_handle_t *)&pe->async, out ? NULL : on_closed);
}

static struct poolenv *env_state(napi_env env) {
  struct poolenv *pe = NULL;
  uv_loop_t *loop;
  napi_value name, res;
  if (napi_get_instance_data(env, (void **)&pe) == napi_ok && pe) return pe;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  if (!(pe = calloc(1, sizeof *pe))) return NULL;
  pe->env = env;
  pthread_mutex_init(&pe->mu, NULL);
  if (uv_async_init(loop, &pe->async, on_done) != 0) {
    pthread_mutex_destroy(&pe->mu);
    free(pe);
    return NULL;
  }
  pe->async.data = pe;
  uv_unref((uv_handle_t *)&pe->async);
  napi_create_string_utf8(env, "sys.pool", NAPI_AUTO_LENGTH, &name);
  napi_create_object(env, &res);
  napi_async_init(env, res, name, &pe->actx);
  napi_set_instance_data(env, pe, NULL, NULL);
  napi_add_env_cleanup_hook(env, cleanup, pe);
  return pe;
}

/* Queue j for env's loop; 0, or an errno (nothing queued). */
static int pool_submit(napi_env env, struct pooljob *j) {
  struct poolenv *pe = env_state(env);
  pthread_t t;
  pthread_attr_t attr;
  int grow, made = 0;
  sigset_t all, old;
  if (!pe) return ENOMEM;
  pthread_once(&qonce, qinit);
  j->pe = pe;
  j->next = NULL;
  pthread_mutex_lock(&qmu);
  /* one more thread when the jobs waiting, this one included, outnumber the threads waiting */
  grow = nqueued + 1 > idle && nthreads < POOL_THREADS;
  if (grow) nthreads++;
  pthread_mutex_unlock(&qmu);
  if (grow) {
    /* the worker starts with every signal blocked, so none meant for the loop thread lands on it */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    made = pthread_create(&t, &attr, worker, NULL) == 0;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  pthread_mutex_lock(&qmu);
  if (grow && !made) nthreads--;
  if (nthreads == 0) {
    pthread_mutex_unlock(&qmu);
    return EAGAIN;
  }
  if (qtail) qtail->next = j;
  else qhead = j;
  qtail = j;
  nqueued++;
  pthread_mutex_unlock(&qmu);
  sem_post(&qsem); /* after the unlock: see the comment at the top */
  if (pe->outstanding++ == 0) uv_ref((uv_handle_t *)&pe->async);
  return 0;
}

int pool_start(napi_env env, struct pooljob *j, void (*run)(struct pooljob *), void (*done)(napi_env, napi_async_context, struct pooljob *),
               void (*release)(struct pooljob *), napi_value cb, napi_ref *ref) {
  int e;
  j->run = run;
  j->done = done;
  j->release = release;
  napi_create_reference(env, cb, 1, ref);
  if ((e = pool_submit(env, j)) != 0) napi_delete_reference(env, *ref);
  return e;
}

void pool_callback(napi_env env, napi_async_context actx, napi_ref cb, size_t argc, napi_value *argv) {
  napi_value fn, global, result, e;
  napi_get_reference_value(env, cb, &fn);
  napi_get_global(env, &global);
  if (napi_make_callback(env, actx, global, fn, argc, argv, &result) == napi_pending_exception) {
    napi_get_and_clear_last_exception(env, &e);
    napi_fatal_exception(env, e);
  }
  napi_delete_reference(env, cb);
}
