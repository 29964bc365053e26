/*
 * s3_probe: drives core/store against an S3 server for tests/s3/check_s3_sync.sh.
 *   s3_probe ENDPOINT CREDENTIALS s3://BUCKET/PREFIX sync DIR   one model_sync_pass: prints
 *       one line per event ("installed flows: ..."), "pending N" and "installed N"; exit 1 with
 *       "error: ..." when the pass fails (listing: server down, credentials)
 *   s3_probe ENDPOINT CREDENTIALS s3://BUCKET/PREFIX put KEY FILE   uploads FILE as PREFIX+KEY
 * Region us-east-1. Not a product command (rb-aioutliers-train --upload is).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/store/model_sync.h"
#include "rb/store/s3.h"

static void on_event(void *ctx, enum model_sync_event ev, const char *model, const char *msg)
{
	(void)ctx;
	printf("%s %s: %s\n", model_sync_event_names[ev], model, msg);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc(n > 0 ? (size_t)n : 1);
	if (b != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: s3_probe ENDPOINT CREDS s3://B/P sync DIR | put KEY FILE\n");
		return 2;
	}
	struct rb_err err = {0};
	struct s3_conf c;
	memset(&c, 0, sizeof c);
	snprintf(c.endpoint, sizeof c.endpoint, "%s", argv[1]);
	snprintf(c.region, sizeof c.region, "us-east-1");
	c.connect_timeout_ms = 2000;
	c.timeout_ms = 10000;
	char prefix[512];
	if (s3_credentials_load(argv[2], &c, &err) != RB_OK ||
	    s3_url_parse(argv[3], c.bucket, sizeof c.bucket, prefix, sizeof prefix, &err) != RB_OK) {
		printf("error: %s\n", err.msg);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct s3 *s = NULL;
	int rc = 1;
	if (s3_new(&s, &c, &err) != RB_OK) {
		printf("error: %s\n", err.msg);
	} else if (strcmp(argv[4], "put") == 0 && argc == 7) {
		size_t len = 0;
		char *data = slurp(argv[6], &len), key[1200];
		snprintf(key, sizeof key, "%s%s", prefix, argv[5]);
		if (data == NULL)
			printf("error: cannot read %s\n", argv[6]);
		else if (s3_put(s, key, data, len, &err) != RB_OK)
			printf("error: %s\n", err.msg);
		else
			rc = 0;
		free(data);
	} else if (strcmp(argv[4], "sync") == 0) {
		struct model_sync_conf mc;
		memset(&mc, 0, sizeof mc);
		snprintf(mc.prefix, sizeof mc.prefix, "%s", prefix);
		snprintf(mc.dir, sizeof mc.dir, "%s", argv[5]);
		mc.max_object_bytes = 64ull << 20;
		mc.max_objects = 10000;
		mc.note = on_event;
		struct model_sync *ms = NULL;
		size_t installed = 0, pending = 0;
		if (model_sync_new(&ms, &mc, &err) != RB_OK ||
		    model_sync_pass(ms, s, &installed, &pending, &err) != RB_OK) {
			printf("error: %s\n", err.msg);
		} else {
			printf("pending %zu\ninstalled %zu\n", pending, installed);
			rc = 0;
		}
		model_sync_free(ms);
	}
	s3_free(s);
	curl_global_cleanup();
	return rc;
}
