/* Test helpers: see testutil.h. Test-only code; never linked into the service. */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

#include "rb/base/error.h"
#include "rb/model/model.h"

static const char *env_or_die(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0') {
		fprintf(stderr, "testutil: %s is not set (run the test through ctest)\n", name);
		exit(1);
	}
	return v;
}

static const char *join(const char *env, const char *rel)
{
	static char buf[4096];
	int n = snprintf(buf, sizeof buf, "%s/%s", env_or_die(env), rel);
	if (n < 0 || (size_t)n >= sizeof buf) {
		fprintf(stderr, "testutil: path too long\n");
		exit(1);
	}
	return buf;
}

/*
 * The one line a test prints when it cannot find what it needs of shared/
 * (the upstream models, golden data and dev data live outside the repository):
 * a failure, never a skip, so that a run without shared/ cannot pass.
 */
const char *tu_shared(const char *rel)
{
	const char *dir = getenv("RB_SHARED_DIR");
	if (dir == NULL || dir[0] == '\0') {
		fprintf(stderr, "test needs the shared/ folder (RB_SHARED_DIR is not set; run the test "
		                "through ctest): missing %s\n", rel);
		exit(1);
	}
	const char *path = join("RB_SHARED_DIR", rel);
	if (access(path, F_OK) != 0) {
		fprintf(stderr, "test needs the shared/ folder (RB_SHARED_DIR=%s): missing %s\n", dir,
		        path);
		exit(1);
	}
	return path;
}

const char *tu_source(const char *rel) { return join("RB_SOURCE_DIR", rel); }

char *tu_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "testutil: cannot open %s\n", path);
		exit(1);
	}
	size_t cap = 1 << 16, len = 0, got;
	char *buf = malloc(cap + 1);
	CHECK(buf != NULL);
	while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			CHECK(buf != NULL);
		}
	}
	fclose(f);
	buf[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	return buf;
}

struct model *tu_load_upstream_model(const char *name)
{
	char keras[4096], ini[4096], rel[256];
	snprintf(rel, sizeof rel, "upstream/%s.keras", name);
	snprintf(keras, sizeof keras, "%s", tu_shared(rel)); /* tu_shared's buffer is reused */
	snprintf(rel, sizeof rel, "upstream/%s.ini", name);
	snprintf(ini, sizeof ini, "%s", tu_shared(rel));
	struct model *m = NULL;
	struct rb_err err = {0};
	CHECKF(model_load_files(&m, keras, ini, name, &err) == RB_OK, "%s: %s", keras, err.msg);
	return m;
}
