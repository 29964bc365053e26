/*
 * bench_trim: what malloc_trim(0) gives back after one big request's worth
 * of allocations (the worker calls it after a body or answer of 4 MiB or
 * more, fcgi/worker.c). Reads a Druid JSON file, parses it, runs the default
 * detector and builds the answer, frees everything, and prints the process's
 * private anonymous memory (/proc/self/smaps_rollup) before the request,
 * after it and after malloc_trim(0). Usage: bench_trim file.json [repeats]
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/answer/response.h"
#include "rb/detect/detection.h"
#include "rb/detect/detector.h"
#include "rb/input/series.h"

/* Private_Dirty of the whole process in kB (smaps_rollup), -1 when unreadable. */
static long private_dirty_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	if (f == NULL)
		return -1;
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "Private_Dirty:", 14) == 0)
			kb = strtol(line + 14, NULL, 10);
	fclose(f);
	return kb;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	while (buf != NULL) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		char *p = realloc(buf, cap * 2);
		if (p == NULL) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = p;
		cap *= 2;
	}
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_trim file.json [repeats]\n");
		return 2;
	}
	int repeats = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
	printf("%-28s %14s\n", "moment", "Private_Dirty kB");
	printf("%-28s %14ld\n", "start", private_dirty_kb());
	size_t answer = 0;
	for (int r = 0; r < repeats; r++) {
		size_t len = 0;
		char *text = read_all(argv[1], &len);
		struct series *s = NULL;
		struct rb_err err;
		if (text == NULL || series_parse(&s, text, len, NULL, &err) != RB_OK) {
			fprintf(stderr, "cannot read/parse %s\n", argv[1]);
			return 1;
		}
		struct detector_opts o = {DETECTOR_DEFAULT, NULL, "bytes", NAN};
		struct detection d;
		memset(&d, 0, sizeof d);
		if (detector_run(s, &o, &d, &err) != RB_OK) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		char *body = response_success(s, &d);
		answer = body != NULL ? strlen(body) : 0;
		free(body);
		detection_release(&d);
		series_free(s);
		free(text);
	}
	printf("%-28s %14ld\n", "after request(s), freed", private_dirty_kb());
	malloc_trim(0);
	printf("%-28s %14ld\n", "after malloc_trim(0)", private_dirty_kb());
	printf("(input %s, answer %zu bytes, %d request(s))\n", argv[1], answer, repeats);
	return 0;
}
