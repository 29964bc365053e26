/*
 * train_data: the training set from Druid result files. Two files, the
 * first with a gap (rows 100..109 missing from the one-minute grid) and a
 * 5-minute second file: every window lies inside one file, crosses no gap
 * (the row after the gap starts no window and sits in none), lies wholly in
 * the training or wholly in the validation part (the last 10 % of each
 * file), and has 32 rows; the counts are the ones computed by hand; the
 * granularity is read per file (60 s and 300 s); the rows are features.c's
 * (x equals features_build on the same series); the training rows are the
 * rows before each file's split; metrics in a different order in the second
 * file are matched by name; a file with other metrics is refused.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rb/detect/features.h"
#include "rb/input/series.h"
#include "rb/train/train_data.h"
#include "testutil.h"

static char tmp[256];

/* n rows from minute 0 at step minutes, skipping rows [gap_lo, gap_hi); metric order a,b or b,a. */
static void write_file(const char *path, int n, int step, int gap_lo, int gap_hi, int swap,
                       const char *extra)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputc('[', f);
	int first = 1;
	for (int i = 0; i < n; i++) {
		if (i >= gap_lo && i < gap_hi)
			continue;
		int m = i * step;
		double a = 100 + 50 * sin(i * 0.1), b = 7 + i % 5;
		fprintf(f, "%s{\"timestamp\":\"2026-09-%02dT%02d:%02d:00Z\",\"result\":{", first ? "" : ",",
		        1 + m / 1440, (m / 60) % 24, m % 60);
		if (swap)
			fprintf(f, "\"b\":%g,\"a\":%g%s}}", b, a, extra);
		else
			fprintf(f, "\"a\":%g,\"b\":%g%s}}", a, b, extra);
		first = 0;
	}
	fputs("]", f);
	CHECK(fclose(f) == 0);
}

int main(void)
{
	struct rb_err err = {0};
	snprintf(tmp, sizeof tmp, "/tmp/rb_train_data.XXXXXX");
	CHECK(mkdtemp(tmp) != NULL);
	char p1[300], p2[300], p3[300];
	snprintf(p1, sizeof p1, "%s/one.json", tmp);
	snprintf(p2, sizeof p2, "%s/five.json", tmp);
	snprintf(p3, sizeof p3, "%s/other.json", tmp);
	write_file(p1, 600, 1, 100, 110, 0, "");  /* 590 rows, a gap after row 99 */
	write_file(p2, 400, 5, 0, 0, 1, "");      /* 400 rows at 5 minutes, b before a */
	write_file(p3, 400, 1, 0, 0, 0, ",\"c\":1");

	struct train_data d;
	struct train_data_options o = {32, 16, 0.1};
	const char *paths[] = {p1, p2};
	CHECKF(train_data_load(&d, paths, 2, &o, &err) == RB_OK, "%s", err.msg);
	CHECK(d.n_files == 2 && d.n_rows == 990 && d.n_metrics == 2 && d.C == 11 && d.T == 32);
	CHECK(strcmp(d.spec.metrics[0], "a") == 0 && strcmp(d.spec.metrics[2], "granularity") == 0);
	CHECK(d.spec.weekday == WEEKDAY_ONEHOT && d.spec.window_size == 16 && d.spec.num_windows == 2);
	CHECK(d.files[0].step == 60 && d.files[1].step == 300 && d.files[0].gaps == 1 &&
	      d.files[1].gaps == 0);
	/* file 1: 590 rows, split at 590 - 59 = 531; the gap row is row 100 (minute 110):
	 * training runs [0, 100) -> 0,16,32,48,64 + a final one at 68 = 6, [101, 531) 430 rows
	 * -> 25 + final = 26; validation [531, 590) 59 rows -> 2 + final = 3 */
	CHECK(d.files[0].split == 531 && d.files[1].split == 360);
	CHECKF(d.files[0].train_windows == 6 + 26 && d.files[0].val_windows == 3, "%zu %zu",
	       d.files[0].train_windows, d.files[0].val_windows);
	/* file 2: 400 rows, split 360: training 360 rows -> 21 + final = 22; validation 40 -> 1 + final */
	CHECKF(d.files[1].train_windows == 22 && d.files[1].val_windows == 2, "%zu %zu",
	       d.files[1].train_windows, d.files[1].val_windows);
	CHECK(d.n_train == 54 && d.n_val == 5 && d.n_train_rows == 531 + 360);
	for (int part = 0; part < 2; part++) {
		size_t n = part ? d.n_val : d.n_train;
		const size_t *st = part ? d.val_start : d.train_start;
		for (size_t w = 0; w < n; w++) {
			size_t s = st[w], e = s + 32; /* [s, e) */
			size_t f = s < 590 ? 0 : 1, base = f ? 590 : 0;
			CHECKF(e <= base + d.files[f].rows, "window at %zu crosses into the next file", s);
			size_t split = base + d.files[f].split;
			CHECKF(part ? s >= split : e <= split, "window at %zu crosses the split", s);
			CHECKF(!(f == 0 && s <= 100 && e > 100), "window at %zu holds the gap row", s);
		}
	}
	/* the rows are features.c's */
	char *text = NULL;
	size_t len = 0;
	struct series *s = NULL;
	struct features ft = {0};
	text = tu_read_file(p2, &len);
	CHECK(text != NULL && series_parse(&s, text, len, NULL, &err) == RB_OK);
	CHECKF(features_build(&ft, s, &d.spec, &err) == RB_OK, "%s", err.msg);
	CHECK(memcmp(ft.x, d.x + 590 * d.C, 400 * d.C * sizeof *ft.x) == 0);
	CHECK(memcmp(ft.x, d.train_rows + 531 * d.C, 360 * d.C * sizeof *ft.x) == 0);
	CHECK(d.files[1].val_series->n == 40);
	features_release(&ft);
	series_free(s);
	free(text);
	train_data_release(&d);

	const char *bad[] = {p1, p3};
	CHECK(train_data_load(&d, bad, 2, &o, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "other.json") != NULL && strstr(err.msg, "3 metrics") != NULL, "%s",
	       err.msg);
	printf("ok: 54 training + 5 validation windows, none across a file, the gap or the split; "
	       "\"%s\"\n", err.msg);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	CHECK(system(cmd) == 0);
	return 0;
}
