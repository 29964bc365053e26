/*
 * bench_eval_nab: runs the model-free detectors (default = novelty's method,
 * robust, iforest-legacy) over labelled series and prints, per file and overall, for each
 * detector side by side: labelled windows detected, flagged rows outside
 * windows (and as runs of consecutive rows), and a NAB-style score; then
 * the false rows per failure kind of issue 12 on the synthetic series of
 * tests/testutil/kinds_synth.h. Two layouts: <dir>/windows.json with the
 * CSVs under <dir> (nab-dev), or <dir>/labels/combined_windows.json with
 * the CSVs under <dir>/data (ms-dev); either maps "category/file.csv" to
 * its anomaly windows [start, end]; each CSV is "timestamp,value".
 *
 * Every CSV goes through the request path: it is turned into the Druid
 * timeseries result text [{"timestamp":"...Z","result":{"value":V}},...],
 * parsed by series_parse() and analysed by detector_run(), as a request
 * with data= and no model would be.
 *
 * NAB-style score (standard profile of the Numenta Anomaly Benchmark: A_TP
 * 1, A_FP 0.11, A_FN 1; every flagged row is a detection; no probationary
 * period since our detector sees the whole window): the first detection in
 * a window earns sigma(y), y = -(end - t)/(end - start) in [-1, 0],
 * sigma(y) = 2/(1 + e^(5y)) - 1; later ones in it earn nothing; a detection
 * outside every window costs 0.11 * sigma(y) with y its distance after the
 * preceding window's end in window lengths (-0.11 when no window precedes);
 * a missed window costs 1. Normalised: 100 (S - S_null)/(S_perfect - S_null)
 * over all files, S_null = -(windows), S_perfect = windows * sigma(-1).
 *
 * Usage: bench_eval_nab [-d DIR] [-s SENS] [-S s1,s2,..] [-D NAME]
 *   -d  data folder (default: both $RB_SHARED_DIR/dev-data/nab-dev and
 *       .../ms-dev, $RB_SHARED_DIR else the shared/ folder configured at
 *       build time, else ../shared)
 *   -s  sensitivity of the default and robust detectors (default: their
 *       built-in defaults); the legacy one always runs with its own (0.95)
 *   -S  sweep: only the overall line, for each listed sensitivity, of the
 *       detector -D names (default: "default")
 * A tool, not the service: it exits on errors.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb/detect/detection.h"
#include "rb/detect/detector.h"
#include "rb/input/series.h"
#include "tests/testutil/kinds_synth.h"

#define MAX_CSV_BYTES (64u << 20)
#define MAX_WINDOWS 64
#define NDET 3

static const char *const DETECTORS[NDET] = {DETECTOR_DEFAULT, DETECTOR_ROBUST, DETECTOR_LEGACY};

struct window {
	double start, end;
};

struct counts {
	size_t windows, detected, fp_rows, fp_runs, rows, files_noanom, files_noanom_quiet;
	double nab, seconds;
};

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "bench_eval_nab: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(2);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die("cannot open", path);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		die("out of memory", NULL);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= MAX_CSV_BYTES)
				die("file too large", path);
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (nb == NULL)
				die("out of memory", NULL);
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - 1 - n, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Appends len bytes to a growable buffer capped at MAX_CSV_BYTES * 2. */
struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t len)
{
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 16;
		while (b->n + len + 1 > cap)
			cap *= 2;
		if (cap > 2 * (size_t)MAX_CSV_BYTES)
			die("JSON text too large", NULL);
		char *np = realloc(b->p, cap);
		if (np == NULL)
			die("out of memory", NULL);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

/*
 * CSV "YYYY-MM-DD HH:MM:SS,value" (header line skipped) -> Druid timeseries
 * result JSON text. The value text is copied as written.
 */
static char *csv_to_druid(const char *csv, size_t *len_out)
{
	struct sbuf b = {0};
	sb_put(&b, "[", 1);
	const char *p = strchr(csv, '\n');
	int first = 1;
	while (p != NULL && *p) {
		p++;
		const char *eol = strchr(p, '\n');
		size_t L = eol ? (size_t)(eol - p) : strlen(p);
		if (L > 0 && p[L - 1] == '\r')
			L--;
		const char *comma = memchr(p, ',', L);
		if (comma != NULL && comma - p == 19) {
			char row[160];
			int k = snprintf(row, sizeof row, "%s{\"timestamp\":\"%.10sT%.8s.000Z\",\"result\":{\"value\":",
			                 first ? "" : ",", p, p + 11);
			sb_put(&b, row, (size_t)k);
			sb_put(&b, comma + 1, L - (size_t)(comma + 1 - p));
			sb_put(&b, "}}", 2);
			first = 0;
		}
		p = eol;
	}
	sb_put(&b, "]", 1);
	*len_out = b.n;
	return b.p;
}

static double sigmoid5(double y)
{
	return 2.0 / (1.0 + exp(5.0 * y)) - 1.0;
}

/* Scores one detection against the windows of one file; adds to c. */
static void score_file(const struct series *s, const struct detection *d, const struct window *w,
                       size_t nw, struct counts *c)
{
	unsigned char hit[MAX_WINDOWS] = {0};
	c->windows += nw;
	c->rows += s->n;
	int prev_out = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!d->anomaly[i]) {
			prev_out = 0;
			continue;
		}
		double t = s->t[i];
		long in = -1, before = -1;
		for (size_t k = 0; k < nw; k++) {
			if (t >= w[k].start && t <= w[k].end)
				in = (long)k;
			if (w[k].end < t && (before < 0 || w[k].end > w[before].end))
				before = (long)k;
		}
		if (in >= 0) {
			prev_out = 0;
			if (!hit[in]) {
				hit[in] = 1;
				double len = w[in].end - w[in].start;
				double y = len > 0 ? -(w[in].end - t) / len : 0.0;
				c->nab += sigmoid5(y);
			}
			continue;
		}
		c->fp_rows++;
		if (!prev_out)
			c->fp_runs++;
		prev_out = 1;
		if (before < 0) {
			c->nab -= 0.11;
		} else {
			double len = w[before].end - w[before].start;
			double y = len > 0 ? (t - w[before].end) / len : 1.0;
			c->nab += 0.11 * sigmoid5(y);
		}
	}
	for (size_t k = 0; k < nw; k++) {
		if (hit[k])
			c->detected++;
		else
			c->nab -= 1.0;
	}
	if (nw == 0) {
		c->files_noanom++;
		size_t flagged = 0;
		for (size_t i = 0; i < s->n; i++)
			flagged += d->anomaly[i];
		c->files_noanom_quiet += flagged == 0;
	}
}

static double nab_normalised(const struct counts *c)
{
	double null = -(double)c->windows, perfect = (double)c->windows * sigmoid5(-1.0);
	return perfect > null ? 100.0 * (c->nab - null) / (perfect - null) : 0.0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct file {
	char name[256];
	struct series *s;
	struct window w[MAX_WINDOWS];
	size_t nw;
};

static size_t load(const char *dir, struct file **files_out)
{
	char path[8192], data[8192];
	int pl = snprintf(path, sizeof path, "%s/windows.json", dir);
	if (pl < 0 || (size_t)pl >= sizeof path)
		die("path too long", dir);
	snprintf(data, sizeof data, "%s", dir);
	FILE *probe = fopen(path, "rb");
	if (probe != NULL) {
		fclose(probe);
	} else { /* the ms-dev layout */
		pl = snprintf(path, sizeof path, "%s/labels/combined_windows.json", dir);
		if (pl < 0 || (size_t)pl >= sizeof path)
			die("path too long", dir);
		pl = snprintf(data, sizeof data, "%s/data", dir);
		if (pl < 0 || (size_t)pl >= sizeof data)
			die("path too long", dir);
	}
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr); /* new */
	if (root == NULL || !json_is_object(root))
		die("cannot read windows.json", jerr.text);
	size_t nf = json_object_size(root), k = 0;
	struct file *files = calloc(nf, sizeof *files);
	if (files == NULL)
		die("out of memory", NULL);
	/* Sorted keys so the table order does not depend on the hash. */
	const char **keys = calloc(nf, sizeof *keys);
	if (keys == NULL)
		die("out of memory", NULL);
	const char *key;
	json_t *val; /* borrowed */
	json_object_foreach(root, key, val) keys[k++] = key;
	for (size_t a = 1; a < nf; a++)
		for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
			const char *tmp = keys[b];
			keys[b] = keys[b - 1];
			keys[b - 1] = tmp;
		}
	for (k = 0; k < nf; k++) {
		struct file *f = &files[k];
		snprintf(f->name, sizeof f->name, "%s", keys[k]);
		json_t *arr = json_object_get(root, keys[k]); /* borrowed */
		if (!json_is_array(arr) || json_array_size(arr) > MAX_WINDOWS)
			die("bad windows for", keys[k]);
		f->nw = json_array_size(arr);
		for (size_t i = 0; i < f->nw; i++) {
			json_t *pair = json_array_get(arr, i); /* borrowed */
			const char *a = json_string_value(json_array_get(pair, 0));
			const char *b = json_string_value(json_array_get(pair, 1));
			if (a == NULL || b == NULL || series_parse_instant(a, &f->w[i].start) != 0 ||
			    series_parse_instant(b, &f->w[i].end) != 0)
				die("bad window in", keys[k]);
		}
		pl = snprintf(path, sizeof path, "%s/%s", data, keys[k]);
		if (pl < 0 || (size_t)pl >= sizeof path)
			die("path too long", keys[k]);
		size_t clen, jlen;
		char *csv = read_all(path, &clen);
		char *json = csv_to_druid(csv, &jlen);
		struct rb_err err = {0};
		if (series_parse(&f->s, json, jlen, NULL, &err) != RB_OK)
			die(keys[k], err.msg);
		free(csv);
		free(json);
	}
	free(keys);
	json_decref(root);
	*files_out = files;
	return nf;
}

static void run(const struct file *f, const char *det, double sens, struct counts *c)
{
	struct detector_opts o = {.name = det, .metric = NULL, .default_metric = NULL,
	                          .sensitivity = sens};
	struct detection d = {0};
	struct rb_err err = {0};
	double t0 = now();
	if (detector_run(f->s, &o, &d, &err) != RB_OK)
		die(f->name, err.msg);
	c->seconds += now() - t0;
	score_file(f->s, &d, f->w, f->nw, c);
	detection_release(&d);
}

/* Overall line of a sweep: the detector's operating point for sensitivity sv. */
static void sweep_point(const char *det, double sv, char *buf, size_t cap)
{
	if (strcmp(det, DETECTOR_ROBUST) == 0) {
		snprintf(buf, cap, "k %.2f", robust_threshold(sv));
	} else {
		double eps, kmax;
		novelty_params(sv, &eps, &kmax);
		snprintf(buf, cap, "eps %.4f K %.0f", eps, kmax);
	}
}

static void sweep_run(const struct file *files, size_t nf, const char *det, const char *sweep)
{
	printf("%-6s %-16s %9s %8s %8s %11s %7s\n", "sens", "operating point", "detected",
	       "fp_rows", "fp_runs", "noanom_fp", "NAB");
	const char *p = sweep;
	while (*p) {
		char *end;
		double sv = strtod(p, &end);
		if (end == p || !(sv >= 0 && sv <= 1))
			die("bad -S list", sweep);
		struct counts c = {0}, na = {0};
		for (size_t k = 0; k < nf; k++) {
			struct counts one = {0};
			run(&files[k], det, sv, &one);
			c.windows += one.windows;
			c.detected += one.detected;
			c.nab += one.nab;
			c.files_noanom_quiet += one.files_noanom_quiet;
			if (files[k].nw == 0)
				na.fp_rows += one.fp_rows;
			else {
				c.fp_rows += one.fp_rows;
				c.fp_runs += one.fp_runs;
			}
		}
		char point[32];
		sweep_point(det, sv, point, sizeof point);
		printf("%-6.3f %-16s %5zu/%-3zu %8zu %8zu %7zu/%zu q %7.1f\n", sv, point, c.detected,
		       c.windows, c.fp_rows, c.fp_runs, na.fp_rows, c.files_noanom_quiet,
		       nab_normalised(&c));
		p = *end == ',' ? end + 1 : end;
	}
}

static void table_run(const struct file *files, size_t nf, const char *dir, double sens)
{
	struct counts tot[NDET] = {{0}}, totna[NDET] = {{0}};
	printf("data: %s\nsensitivity: %s (default %.2f, robust %.2f); legacy: %.2f\n\n", dir,
	       isnan(sens) ? "built-in" : "given",
	       isnan(sens) ? DETECTOR_NOVELTY_SENSITIVITY : sens,
	       isnan(sens) ? DETECTOR_ROBUST_SENSITIVITY : sens, DETECTOR_LEGACY_SENSITIVITY);
	printf("%-48s %6s %4s", "", "", "");
	for (int d = 0; d < NDET; d++)
		printf(" | %-27s", DETECTORS[d]);
	printf("\n%-48s %6s %4s", "file", "rows", "win");
	for (int d = 0; d < NDET; d++)
		printf(" | %5s %6s %6s %7s", "det", "fp", "fpruns", "nab");
	printf("\n");
	for (size_t k = 0; k < nf; k++) {
		struct counts one[NDET] = {{0}};
		printf("%-48s %6zu %4zu", files[k].name, files[k].s->n, files[k].nw);
		for (int d = 0; d < NDET; d++) {
			run(&files[k], DETECTORS[d], strcmp(DETECTORS[d], DETECTOR_LEGACY) ? sens : NAN,
			    &one[d]);
			struct counts *t = files[k].nw ? &tot[d] : &totna[d];
			t->windows += one[d].windows;
			t->detected += one[d].detected;
			t->fp_rows += one[d].fp_rows;
			t->fp_runs += one[d].fp_runs;
			t->rows += one[d].rows;
			t->nab += one[d].nab;
			t->seconds += one[d].seconds;
			t->files_noanom += one[d].files_noanom;
			t->files_noanom_quiet += one[d].files_noanom_quiet;
			printf(" | %5zu %6zu %6zu %7.2f", one[d].detected, one[d].fp_rows, one[d].fp_runs,
			       one[d].nab);
		}
		printf("\n");
	}
	printf("\n%-34s", "overall");
	for (int d = 0; d < NDET; d++)
		printf(" | %-22s", DETECTORS[d]);
	printf("\n%-34s", "labelled windows detected");
	for (int d = 0; d < NDET; d++)
		printf(" | %10zu/%-11zu", tot[d].detected, tot[d].windows);
	printf("\n%-34s", "flagged rows outside windows");
	for (int d = 0; d < NDET; d++)
		printf(" | %22zu", tot[d].fp_rows);
	printf("\n%-34s", "  as runs of consecutive rows");
	for (int d = 0; d < NDET; d++)
		printf(" | %22zu", tot[d].fp_runs);
	printf("\n%-34s", "false rows on no-anomaly files");
	for (int d = 0; d < NDET; d++)
		printf(" | %22zu", totna[d].fp_rows);
	printf("\n%-34s", "no-anomaly files left quiet");
	for (int d = 0; d < NDET; d++)
		printf(" | %18zu/%-3zu", totna[d].files_noanom_quiet, totna[d].files_noanom);
	printf("\n%-34s", "NAB-style score (0 null, 100 best)");
	for (int d = 0; d < NDET; d++) {
		struct counts all = tot[d];
		all.nab += totna[d].nab;
		printf(" | %22.1f", nab_normalised(&all));
	}
	printf("\n%-34s", "detector time, ms per series");
	for (int d = 0; d < NDET; d++)
		printf(" | %22.3f", 1e3 * (tot[d].seconds + totna[d].seconds) / (double)nf);
	printf("\n\n");
}

/* False rows per failure kind (tests/testutil/kinds_synth.h), each detector at its default. */
static void kinds_run(void)
{
	static double x[KINDS_N], t[KINDS_N], e[KINDS_N], sc[KINDS_N];
	static unsigned char an[KINDS_N];
	printf("false rows per failure kind, synthetic, %d one-minute rows each "
	       "(+ anomaly flagged, - missed)\n%-16s", KINDS_N, "detector");
	for (int k = 0; k < K_COUNT; k++)
		printf(" %11s", kind_names[k]);
	printf("\n");
	for (int d = 0; d < NDET; d++) {
		printf("%-16s", DETECTORS[d]);
		for (int k = 0; k < K_COUNT; k++) {
			size_t onset = kinds_make((enum kind)k, x, t);
			double thr;
			struct rb_err err = {0};
			enum rb_code rc;
			if (strcmp(DETECTORS[d], DETECTOR_ROBUST) == 0)
				rc = robust_detect(x, t, KINDS_N, NAN, e, sc, an, &thr, &err);
			else if (strcmp(DETECTORS[d], DETECTOR_LEGACY) == 0)
				rc = legacy_detect(x, t, KINDS_N, DETECTOR_LEGACY_SENSITIVITY, e, sc, an, &thr,
				                   &err);
			else
				rc = novelty_detect(x, t, KINDS_N, NAN, e, sc, an, &thr, &err);
			if (rc != RB_OK)
				die(DETECTORS[d], err.msg);
			size_t fp = 0;
			int found = 0;
			for (size_t i = 0; i < KINDS_N; i++) {
				if (!an[i])
					continue;
				if (i + KINDS_BEFORE >= onset && i <= onset + KINDS_AFTER)
					found = 1;
				else
					fp++;
			}
			printf(" %10zu%c", fp, found ? '+' : '-');
		}
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	char dirs[2][4096];
	size_t ndirs = 2;
	const char *env = getenv("RB_SHARED_DIR");
#ifdef RB_SHARED_DIR_DEFAULT
	const char *shared = env ? env : RB_SHARED_DIR_DEFAULT;
#else
	const char *shared = env ? env : "../shared";
#endif
	snprintf(dirs[0], sizeof dirs[0], "%s/dev-data/nab-dev", shared);
	snprintf(dirs[1], sizeof dirs[1], "%s/dev-data/ms-dev", shared);
	double sens = NAN;
	const char *sweep = NULL, *sweep_det = DETECTOR_DEFAULT;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			snprintf(dirs[0], sizeof dirs[0], "%s", argv[++i]);
			ndirs = 1;
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			char *end;
			sens = strtod(argv[++i], &end);
			if (*end != '\0' || !(sens >= 0 && sens <= 1))
				die("-s wants a number in [0, 1]", argv[i]);
		} else if (strcmp(argv[i], "-S") == 0 && i + 1 < argc) {
			sweep = argv[++i];
		} else if (strcmp(argv[i], "-D") == 0 && i + 1 < argc) {
			sweep_det = argv[++i];
			if (!detector_known(sweep_det))
				die("-D: unknown detector", sweep_det);
		} else {
			die("usage: bench_eval_nab [-d DIR] [-s SENS] [-S s1,s2,...] [-D NAME]", NULL);
		}
	}
	for (size_t di = 0; di < ndirs; di++) {
		struct file *files;
		size_t nf = load(dirs[di], &files);
		if (sweep != NULL) {
			printf("data: %s, detector %s\n", dirs[di], sweep_det);
			sweep_run(files, nf, sweep_det, sweep);
			printf("\n");
		} else {
			table_run(files, nf, dirs[di], sens);
		}
		for (size_t k = 0; k < nf; k++)
			series_free(files[k].s);
		free(files);
	}
	if (sweep == NULL)
		kinds_run();
	return 0;
}
