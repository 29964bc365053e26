/*
 * test_registry: registry_load (include/rb/fcgi/registry.h) over the two
 * models directories, with the upstream models linked in: a model of the
 * same name in the writable (trained) directory wins over the shipped one
 * (told apart by their .ini);
 * the other names come from the shipped one; each entry says its directory;
 * a trained directory that is empty, unset or absent adds nothing; one that
 * is not a directory, a missing shipped directory and a bad model file are
 * errors naming the path, with nothing returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rb/fcgi/registry.h"
#include "testutil.h"

static char root[64];

static const char *path(const char *rel)
{
	static char buf[4][512];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof buf[0], "%s/%s", root, rel);
	return b;
}

/* dir/name.keras -> upstream traffic.keras; dir/name.ini = traffic.ini with avg_loss set. */
static void add_model(const char *dir, const char *name, const char *avg_loss)
{
	char to[512];
	snprintf(to, sizeof to, "%s/%s.keras", path(dir), name);
	CHECKF(symlink(tu_shared("upstream/traffic.keras"), to) == 0, "%s", to);
	size_t len;
	char *ini = tu_read_file(tu_shared("upstream/traffic.ini"), &len);
	char *line = strstr(ini, "avg_loss = ");
	CHECK(line != NULL);
	char *eol = strchr(line, '\n');
	CHECK(eol != NULL);
	snprintf(to, sizeof to, "%s/%s.ini", path(dir), name);
	FILE *f = fopen(to, "w");
	CHECK(f != NULL);
	fprintf(f, "%.*savg_loss = %s%s", (int)(line - ini), ini, avg_loss, eol);
	CHECK(fclose(f) == 0);
	free(ini);
}

static const struct registry_entry *expect(const struct registry *r, const char *name,
                                           const char *dir)
{
	const struct registry_entry *e = registry_find(r, name);
	CHECKF(e != NULL, "%s not loaded", name);
	CHECKF(strcmp(e->dir, path(dir)) == 0, "%s from %s, wanted %s", name, e->dir, path(dir));
	return e;
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/rb_registry_test_XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	CHECK(mkdir(path("shipped"), 0755) == 0 && mkdir(path("trained"), 0755) == 0);
	CHECK(mkdir(path("empty"), 0755) == 0);
	add_model("shipped", "traffic", "0.004");
	add_model("shipped", "other", "0.004");
	add_model("trained", "traffic", "0.002");
	struct rb_err err = {0};
	struct registry *r = NULL;

	/* both: traffic from trained, other from shipped */
	CHECKF(registry_load(&r, path("shipped"), path("trained"), &err) == RB_OK, "%s", err.msg);
	CHECK(r->n == 2 && r->n_trained == 1);
	const struct registry_entry *t = expect(r, "traffic", "trained");
	expect(r, "other", "shipped");
	struct registry *shipped_only = NULL;
	CHECK(registry_load(&shipped_only, path("shipped"), NULL, &err) == RB_OK);
	const struct registry_entry *t0 = expect(shipped_only, "traffic", "shipped");
	CHECK(shipped_only->n == 2 && shipped_only->n_trained == 0);
	/* the trained one's .ini was read */
	CHECK(t->model->spec.avg_loss == 0.002 && t0->model->spec.avg_loss == 0.004);
	registry_free(shipped_only);
	registry_free(r);

	/* a trained directory that is empty, "" or absent adds nothing */
	const char *nothing[] = {"empty", "", "absent"};
	for (int i = 0; i < 3; i++) {
		const char *td = nothing[i][0] != '\0' ? path(nothing[i]) : "";
		CHECKF(registry_load(&r, path("shipped"), td, &err) == RB_OK, "%s: %s", nothing[i],
		       err.msg);
		CHECK(r->n == 2 && r->n_trained == 0);
		expect(r, "traffic", "shipped");
		registry_free(r);
	}

	/* errors name the path; nothing is returned */
	FILE *f = fopen(path("plainfile"), "w");
	CHECK(f != NULL && fclose(f) == 0);
	r = (struct registry *)&err; /* must be reset to NULL */
	CHECK(registry_load(&r, path("shipped"), path("plainfile"), &err) == RB_E_CONFIG);
	CHECKF(r == NULL && strstr(err.msg, "plainfile") != NULL, "%s", err.msg);
	CHECK(registry_load(&r, path("absent"), path("trained"), &err) == RB_E_CONFIG);
	CHECKF(r == NULL && strstr(err.msg, "absent") != NULL, "%s", err.msg);
	/* a broken model in the trained directory does not fall back silently to the shipped one */
	f = fopen(path("trained/other.keras"), "w");
	CHECK(f != NULL && fputs("not a zip", f) >= 0 && fclose(f) == 0);
	f = fopen(path("trained/other.ini"), "w");
	CHECK(f != NULL && fclose(f) == 0);
	CHECK(registry_load(&r, path("shipped"), path("trained"), &err) != RB_OK);
	CHECKF(r == NULL && strstr(err.msg, "other") != NULL && strstr(err.msg, "trained"),
	       "%s", err.msg);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	CHECK(system(cmd) == 0);
	return 0;
}
