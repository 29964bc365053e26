/*
 * s3sync: the daemon's model-sync helper process (config models_url). The
 * master forks it (never a worker does); it creates its own curl handle, runs
 * a store/model_sync pass every models_sync_interval and, when a pass
 * installed a model, sends the master SIGHUP: the reload path of an
 * operator's SIGHUP (config and models read again, a new generation of
 * workers; a reload that fails keeps the running workers). It dies with the
 * master (PR_SET_PDEATHSIG) and is restarted by s3sync_restart at each reload;
 * inside it, a supervisor restarts the sync process when it crashes (1 s,
 * doubling to 5 min).
 * Not the sync itself (core/store/model_sync.c) nor S3 (core/store/s3.c).
 */
#ifndef RB_FCGI_S3SYNC_H
#define RB_FCGI_S3SYNC_H

#include <sys/types.h>

#include "rb/fcgi/config.h"

/*
 * Stops the helper *pid (when > 0) and, when cfg->models_url is set, starts a
 * new one, closing close_fd (the listen socket; < 0: none) in it. *pid becomes
 * its process id, or 0 when sync is off or the fork failed (logged). The master
 * reaps it with its workers (it is not a worker: the pool does not respawn it; a
 * crash of the sync process inside it is restarted by the helper itself). The helper counts its outcomes on mb (the
 * pool's shared metrics board, mapped before; NULL: not counted).
 */
struct metrics_board;
void s3sync_restart(pid_t *pid, const struct rb_config *cfg, int close_fd,
                    struct metrics_board *mb);

/* Asks the helper *pid to stop (SIGTERM; when > 0) and sets *pid to 0. */
void s3sync_stop(pid_t *pid);

#endif
