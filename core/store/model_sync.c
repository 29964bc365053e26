/*
 * model_sync: one sync pass from an S3 prefix into the writable models
 * directory (rb/store/model_sync.h): group the listing by model, fetch what
 * changed into DIR/.s3-sync/, validate with the service's loaders, rename into
 * DIR, remember the ETags in DIR/.s3-sync.state. Not the timing or the reload
 * (fcgi/s3sync.c) and not the S3 protocol (s3.c).
 */
#include "rb/store/model_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rb/druid/druid_query.h"
#include "rb/model/model.h"

#define N_PARTS 3
#define TAG_MAX 130
#define STATE_NAME ".s3-sync.state"
#define STAGE_NAME ".s3-sync"
#define STATE_HEADER                                                                        \
	"# rb-aioutliers s3 sync state 1: model, then the ETags of .keras .ini .druid.json;\n"   \
	"# ! a version that was rejected (not fetched again); ~ a model gone from the bucket (logged);\n" \
	"# ? a changed version listed once (taken when the next listing shows the same tags)"

const char *const model_sync_event_names[] = {"installed", "rejected", "incomplete", "gone", NULL};

static const char *const part_ext[N_PARTS] = {".keras", ".ini", ".druid.json"};

/* A model: the tags of its three objects (installed, rejected or as listed now). */
struct entry {
	char name[64];
	char tag[N_PARTS][TAG_MAX];
	int gone_noted;
};

struct model_sync {
	struct model_sync_conf conf;
	struct entry *installed, *rejected;
	size_t n_installed, n_rejected;
	size_t cap_installed, cap_rejected;
	struct entry *seen;    /* changed models waiting one listing for their tags to settle */
	size_t n_seen, cap_seen;
};

static void note(struct model_sync *ms, enum model_sync_event ev, const char *model,
                 const char *fmt, const char *detail)
{
	char msg[600];
	snprintf(msg, sizeof msg, fmt, model, detail);
	if (ms->conf.note != NULL)
		ms->conf.note(ms->conf.ctx, ev, model, msg);
}

static struct entry *find(struct entry *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* The entry of name in (*v, *n), added (zeroed tags) when missing; NULL when out of memory. */
static struct entry *upsert(struct entry **v, size_t *n, size_t *cap, const char *name)
{
	struct entry *e = find(*v, *n, name);
	if (e != NULL)
		return e;
	if (*n == *cap) {
		size_t nc = *cap == 0 ? 16 : *cap * 2;
		struct entry *nv = realloc(*v, nc * sizeof *nv);
		if (nv == NULL)
			return NULL;
		*v = nv;
		*cap = nc;
	}
	e = &(*v)[(*n)++];
	memset(e, 0, sizeof *e);
	snprintf(e->name, sizeof e->name, "%s", name);
	return e;
}

static int same_tags(const struct entry *a, const struct entry *b)
{
	for (size_t k = 0; k < N_PARTS; k++)
		if (strcmp(a->tag[k], b->tag[k]) != 0)
			return 0;
	return 1;
}

static int join(char *out, size_t cap, const char *dir, const char *name, const char *ext)
{
	int n = snprintf(out, cap, "%s/%s%s", dir, name, ext);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Reads DIR/.s3-sync.state (missing: nothing installed yet). */
static void state_read(struct model_sync *ms)
{
	char path[1200], line[1024];
	snprintf(path, sizeof path, "%s/%s", ms->conf.dir, STATE_NAME);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		char name[64], t[N_PARTS][TAG_MAX];
		if (line[0] == '~' && sscanf(line + 1, "%63s", name) == 1) { /* gone, logged */
			struct entry *g = find(ms->installed, ms->n_installed, name);
			if (g != NULL)
				g->gone_noted = 1;
			continue;
		}
		int mark = line[0] == '!' || line[0] == '?';
		if (line[0] == '#' ||
		    sscanf(line + mark, "%63s %129s %129s %129s", name, t[0], t[1], t[2]) != 4 ||
		    !model_name_valid(name))
			continue;
		struct entry *e =
			line[0] == '!'   ? upsert(&ms->rejected, &ms->n_rejected, &ms->cap_rejected, name)
			: line[0] == '?' ? upsert(&ms->seen, &ms->n_seen, &ms->cap_seen, name)
			                 : upsert(&ms->installed, &ms->n_installed, &ms->cap_installed,
			                          name);
		if (e == NULL)
			break;
		memcpy(e->tag, t, sizeof e->tag);
		for (size_t k = 0; k < N_PARTS; k++)
			if (strcmp(e->tag[k], "-") == 0) /* a part not in the bucket */
				e->tag[k][0] = '\0';
	}
	fclose(f);
}

/* One line of the state file: mark, name, the three tags ("-" for a part not in the bucket). */
static void state_line(FILE *f, const char *mark, const struct entry *e)
{
	fprintf(f, "%s%s", mark, e->name);
	for (size_t k = 0; k < N_PARTS; k++)
		fprintf(f, " %s", e->tag[k][0] != '\0' ? e->tag[k] : "-");
	fputc('\n', f);
}

/* Writes the state atomically (temporary name, fsync, rename). */
static enum rb_code state_write(struct model_sync *ms, struct rb_err *err)
{
	char path[1200], tmp[1300];
	snprintf(path, sizeof path, "%s/%s", ms->conf.dir, STATE_NAME);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return rb_err_set(err, RB_E_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "%s\n", STATE_HEADER);
	for (size_t i = 0; i < ms->n_installed; i++)
		state_line(f, "", &ms->installed[i]);
	for (size_t i = 0; i < ms->n_installed; i++)
		if (ms->installed[i].gone_noted)
			fprintf(f, "~%s\n", ms->installed[i].name);
	for (size_t i = 0; i < ms->n_seen; i++)
		state_line(f, "?", &ms->seen[i]);
	for (size_t i = 0; i < ms->n_rejected; i++)
		state_line(f, "!", &ms->rejected[i]);
	int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
	if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
		unlink(tmp);
		return rb_err_set(err, RB_E_INTERNAL, "cannot write %s: %s", path, strerror(errno));
	}
	fsync_dir(ms->conf.dir);
	return RB_OK;
}

enum rb_code model_sync_new(struct model_sync **out, const struct model_sync_conf *conf,
                            struct rb_err *err)
{
	*out = NULL;
	if (conf->dir[0] == '\0')
		return rb_err_set(err, RB_E_CONFIG, "model sync needs a models directory");
	if (mkdir(conf->dir, 0755) != 0 && errno != EEXIST)
		return rb_err_set(err, RB_E_CONFIG, "cannot create %s: %s", conf->dir, strerror(errno));
	struct model_sync *ms = calloc(1, sizeof *ms);
	if (ms == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	ms->conf = *conf;
	state_read(ms);
	*out = ms;
	return RB_OK;
}

void model_sync_free(struct model_sync *ms)
{
	if (ms == NULL)
		return;
	free(ms->installed);
	free(ms->rejected);
	free(ms->seen);
	free(ms);
}

/* Which part a key under the prefix is, and the model name; -1 when it is no model file. */
static int classify(const char *rel, char name[64])
{
	size_t rl = strlen(rel);
	for (int k = N_PARTS - 1; k >= 0; k--) { /* .druid.json before the shorter suffixes */
		size_t el = strlen(part_ext[k]);
		if (rl <= el || strcmp(rel + rl - el, part_ext[k]) != 0 || rl - el >= 64)
			continue;
		memcpy(name, rel, rl - el);
		name[rl - el] = '\0';
		if (strchr(name, '/') != NULL || !model_name_valid(name))
			return -1;
		return k;
	}
	return -1;
}

static void unstage(const char *stage, const char *name)
{
	char p[1200];
	for (size_t k = 0; k < N_PARTS; k++)
		if (join(p, sizeof p, stage, name, part_ext[k]) == 0)
			unlink(p);
}

/* Fetches, validates and installs model cur; RB_OK when installed, else err says why. */
static enum rb_code sync_model(struct model_sync *ms, struct s3 *s, const struct entry *cur,
                               const struct entry *old, struct rb_err *err)
{
	char stage[1200], staged[1300], final[1300], key[1200];
	snprintf(stage, sizeof stage, "%s/%s", ms->conf.dir, STAGE_NAME);
	if (mkdir(stage, 0755) != 0 && errno != EEXIST)
		return rb_err_set(err, RB_E_INTERNAL, "cannot create %s: %s", stage, strerror(errno));
	unstage(stage, cur->name);
	enum rb_code rc = RB_OK;
	for (size_t k = 0; k < N_PARTS && rc == RB_OK; k++) {
		if (join(staged, sizeof staged, stage, cur->name, part_ext[k]) != 0 ||
		    join(final, sizeof final, ms->conf.dir, cur->name, part_ext[k]) != 0) {
			rc = rb_err_set(err, RB_E_INTERNAL, "path too long");
			break;
		}
		if (old != NULL && strcmp(old->tag[k], cur->tag[k]) == 0 && link(final, staged) == 0)
			continue; /* unchanged: the installed file */
		snprintf(key, sizeof key, "%s%s%s", ms->conf.prefix, cur->name, part_ext[k]);
		rc = s3_get_file(s, key, staged, ms->conf.max_object_bytes, err);
	}
	struct model *m = NULL;
	struct druid_template *t = NULL;
	if (rc == RB_OK)
		rc = model_load(&m, stage, cur->name, err);
	if (rc == RB_OK)
		rc = druid_template_load(&t, stage, cur->name, err);
	model_free(m);
	druid_template_free(t);
	for (size_t k = 0; k < N_PARTS && rc == RB_OK; k++) {
		join(staged, sizeof staged, stage, cur->name, part_ext[k]);
		join(final, sizeof final, ms->conf.dir, cur->name, part_ext[k]);
		if (rename(staged, final) != 0)
			rc = rb_err_set(err, RB_E_INTERNAL, "cannot rename %s: %s", staged,
			                strerror(errno));
	}
	if (rc == RB_OK && fsync_dir(ms->conf.dir) != 0)
		rc = rb_err_set(err, RB_E_INTERNAL, "fsync %s: %s", ms->conf.dir, strerror(errno));
	unstage(stage, cur->name);
	return rc;
}

enum rb_code model_sync_pass(struct model_sync *ms, struct s3 *s, size_t *installed,
                             size_t *pending, struct rb_err *err)
{
	*installed = 0;
	*pending = 0;
	struct s3_object *objs = NULL;
	size_t n = 0;
	enum rb_code rc = s3_list(s, ms->conf.prefix, ms->conf.max_objects, &objs, &n, err);
	if (rc != RB_OK)
		return rc;
	struct entry *cur = NULL;
	size_t n_cur = 0, cap_cur = 0;
	size_t pl = strlen(ms->conf.prefix);
	for (size_t i = 0; i < n && rc == RB_OK; i++) {
		char name[64];
		if (strncmp(objs[i].key, ms->conf.prefix, pl) != 0)
			continue;
		int k = classify(objs[i].key + pl, name);
		if (k < 0)
			continue;
		struct entry *e = upsert(&cur, &n_cur, &cap_cur, name);
		if (e == NULL) {
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
			break;
		}
		const char *tag = objs[i].etag[0] != '\0' ? objs[i].etag : objs[i].last_modified;
		size_t o = 0;
		for (const char *p = tag; *p != '\0' && o + 1 < TAG_MAX; p++) /* one word */
			e->tag[k][o++] = *p == ' ' || *p == '\t' ? '_' : *p;
		e->tag[k][o] = '\0';
		if (o == 0)
			snprintf(e->tag[k], TAG_MAX, "?");
	}
	free(objs);
	int state_dirty = 0;
	for (size_t i = 0; i < n_cur && rc == RB_OK; i++) {
		struct entry *c = &cur[i];
		struct entry *old = find(ms->installed, ms->n_installed, c->name);
		struct entry *rej = find(ms->rejected, ms->n_rejected, c->name);
		if (old != NULL) {
			state_dirty |= old->gone_noted;
			old->gone_noted = 0;
			if (same_tags(old, c))
				continue;
		}
		if (rej != NULL && same_tags(rej, c))
			continue; /* rejected before, unchanged since */
		int complete = c->tag[0][0] != '\0' && c->tag[1][0] != '\0' && c->tag[2][0] != '\0';
		struct entry *seen = find(ms->seen, ms->n_seen, c->name);
		if (complete && (seen == NULL || !same_tags(seen, c))) {
			/* changed since the last listing (an upload may be under way): next time */
			seen = upsert(&ms->seen, &ms->n_seen, &ms->cap_seen, c->name);
			if (seen == NULL) {
				rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
				break;
			}
			memcpy(seen->tag, c->tag, sizeof seen->tag);
			state_dirty = 1;
			(*pending)++;
			continue;
		}
		struct rb_err merr = {0};
		if (complete && sync_model(ms, s, c, old, &merr) == RB_OK) {
			struct entry *e = upsert(&ms->installed, &ms->n_installed, &ms->cap_installed,
			                         c->name);
			if (e == NULL) {
				rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
				break;
			}
			memcpy(e->tag, c->tag, sizeof e->tag);
			(*installed)++;
			state_dirty = 1;
			note(ms, MODEL_SYNC_INSTALLED, c->name, "model %s installed%s", "");
			continue;
		}
		rej = upsert(&ms->rejected, &ms->n_rejected, &ms->cap_rejected, c->name);
		if (rej == NULL) {
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
			break;
		}
		memcpy(rej->tag, c->tag, sizeof rej->tag);
		state_dirty = 1;
		if (!complete)
			note(ms, MODEL_SYNC_INCOMPLETE, c->name,
			     "model %s: not all of .keras, .ini and .druid.json are in the bucket; "
			     "waiting for the rest%s", old != NULL ? " (the installed one stays)" : "");
		else
			note(ms, MODEL_SYNC_REJECTED, c->name,
			     "model %s rejected, the installed files stay: %s", merr.msg);
	}
	for (size_t i = 0; i < ms->n_installed && rc == RB_OK; i++) {
		struct entry *e = &ms->installed[i];
		if (find(cur, n_cur, e->name) == NULL && !e->gone_noted) {
			e->gone_noted = 1;
			state_dirty = 1;
			note(ms, MODEL_SYNC_GONE, e->name,
			     "model %s is no longer in the bucket; its installed files stay%s", "");
		}
	}
	/* seen keeps only the models still waiting: listed now, changed, not decided */
	size_t keep = 0;
	for (size_t i = 0; i < ms->n_seen; i++) {
		const struct entry *c = find(cur, n_cur, ms->seen[i].name);
		const struct entry *in = find(ms->installed, ms->n_installed, ms->seen[i].name);
		const struct entry *rj = find(ms->rejected, ms->n_rejected, ms->seen[i].name);
		int waiting = c != NULL && same_tags(c, &ms->seen[i]) &&
		              (in == NULL || !same_tags(in, c)) && (rj == NULL || !same_tags(rj, c));
		if (waiting)
			ms->seen[keep++] = ms->seen[i];
		else
			state_dirty = 1;
	}
	ms->n_seen = keep;
	free(cur);
	if (state_dirty) {
		enum rb_code src = state_write(ms, rc == RB_OK ? err : NULL);
		if (rc == RB_OK)
			rc = src;
	}
	return rc;
}
