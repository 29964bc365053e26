/*
 * model_sync: one pass of the model sync from an S3 prefix into the writable
 * models directory (the old service's rbaioutliers/latest/ layout: objects
 * PREFIX/NAME.keras, PREFIX/NAME.ini, PREFIX/NAME.druid.json).
 *
 * A pass lists the prefix and, for each model whose three objects are all
 * there and whose ETags (Last-Modified when a server gives no ETag) differ from
 * the ones installed and were the same in the previous listing (the three
 * objects are uploaded one by one: a model is taken once its upload has settled,
 * never a new .keras with the old .ini), fetches only the changed objects into a staging
 * directory (DIR/.s3-sync/; the unchanged ones are hard links to the installed
 * files), validates the three with the service's own loaders (model_load,
 * druid_template_load), and only then renames them into DIR and fsyncs DIR.
 * What was installed (and what was rejected) is remembered in DIR/.s3-sync.state
 * (ETags, written atomically), so a restart downloads nothing that did not change.
 * A model that is incomplete in the bucket, does not load or whose template is
 * bad is rejected: the installed files stay, the reason is logged through the
 * caller's callback, and the same ETags are not fetched again until they change.
 * A model removed from the bucket stays installed (logged once): removing a
 * model the service serves is an operator's decision, not a sync's.
 * Not the process around it (the daemon's helper process in fcgi/s3sync.c,
 * which asks the master for a reload when a pass installed something).
 */
#ifndef RB_STORE_MODEL_SYNC_H
#define RB_STORE_MODEL_SYNC_H

#include <stddef.h>

#include "rb/base/error.h"
#include "rb/store/s3.h"

/* What a pass did, for logs and counters. */
enum model_sync_event {
	MODEL_SYNC_INSTALLED = 0, /* a model's new files are in place */
	MODEL_SYNC_REJECTED,      /* a changed model failed validation or its download */
	MODEL_SYNC_INCOMPLETE,    /* a model has only some of its three objects */
	MODEL_SYNC_GONE,          /* an installed model is no longer in the bucket (kept) */
	MODEL_SYNC_EVENT_COUNT
};

/* Names of the events, enum order ("installed", "rejected", "incomplete", "gone"). */
extern const char *const model_sync_event_names[];

struct model_sync_conf {
	char prefix[512];              /* ends with '/' or is empty */
	char dir[1024];                /* the writable models directory (created if missing) */
	unsigned long long max_object_bytes;
	size_t max_objects;
	/* called once per event (NULL: none); msg says which model and why */
	void (*note)(void *ctx, enum model_sync_event ev, const char *model, const char *msg);
	void *ctx;
};

struct model_sync;

enum rb_code model_sync_new(struct model_sync **out, const struct model_sync_conf *conf,
                            struct rb_err *err);
void model_sync_free(struct model_sync *ms);

/*
 * One pass with the client s. *installed = models whose files changed in DIR
 * (the caller reloads when > 0); *pending = changed models seen for the first time,
 * taken by the next pass if their tags stay the same (a pass sooner than the interval
 * is the caller's choice). RB_OK also when some models were rejected;
 * an error return means the listing failed (server down, credentials) and
 * nothing changed.
 */
enum rb_code model_sync_pass(struct model_sync *ms, struct s3 *s, size_t *installed,
                             size_t *pending, struct rb_err *err);

#endif
