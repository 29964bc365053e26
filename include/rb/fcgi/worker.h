/*
 * worker: the FastCGI accept loop of one worker process. See fcgi/worker.c.
 */
#ifndef RB_WORKER_H
#define RB_WORKER_H

#include "rb/fcgi/app.h"
#include "rb/fcgi/config.h"
#include "rb/fcgi/pool.h"

/* Serves requests on listen_fd (a FastCGI listen socket) until the pool asks the worker to
 * stop; returns the worker's exit status. Bodies over cfg->max_body_bytes get a 413. Each
 * request is reported to the pool's watchdog through env (NULL: no watchdog). */
int worker_serve(int listen_fd, struct app *app, const struct rb_config *cfg,
                 const struct pool_worker_env *env);

#endif
