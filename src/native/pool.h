/* pool.h: the addon's own thread pool for its blocking jobs (see pool.c). */
#ifndef POOL_H
#define POOL_H
#include <node_api.h>

struct poolenv;

/* A job: embed as the first member of a request. */
struct pooljob {
  struct pooljob *next;
  /* on a pool thread: the blocking work */
  void (*run)(struct pooljob *);
  /* on the loop thread, in a handle scope: report (pool_callback) and free */
  void (*done)(napi_env, napi_async_context, struct pooljob *);
  /* free without reporting (its environment is gone) */
  void (*release)(struct pooljob *);
  struct poolenv *pe;
};

/* Set j's run/done/release, make *ref a reference to the JS callback cb and queue j; 0, or an errno (no reference left, nothing queued). */
int pool_start(napi_env env, struct pooljob *j, void (*run)(struct pooljob *), void (*done)(napi_env, napi_async_context, struct pooljob *),
               void (*release)(struct pooljob *), napi_value cb, napi_ref *ref);

/* From done(): call the JS function cb(argv...) in a callback scope (an exception is fatal), then delete cb. */
void pool_callback(napi_env env, napi_async_context actx, napi_ref cb, size_t argc, napi_value *argv);

#endif
