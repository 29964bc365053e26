/*
 * bench_json_read: the series JSON reader (series_parse, core/input/series.c)
 * against Jansson, the JSON library the project already links, on the bodies
 * of bench_series (Druid answers of 60 and 10,080 one-minute rows x 11
 * metrics, compact, Java-style doubles). Three columns, interleaved run by
 * run in one process:
 *   - Jansson load: json_loadb (JSON_REJECT_DUPLICATES, as our reader refuses
 *     duplicate keys) + json_decref, nothing else: the least any reader built
 *     on Jansson pays;
 *   - Jansson reader: the same plus what series_parse does with the rows:
 *     a walk of the tree into the columns of a struct series-like result
 *     (timestamps copied into one block, instants by series_parse_instant,
 *     metric columns in first-seen order, values and present flags); its
 *     values are checked equal, bit for bit, to series_parse's;
 *   - ours: series_parse.
 * Per case: median over runs of the mean process CPU µs per body, and the
 * heap bytes the Jansson tree alone holds (mallinfo2 before and after json_loadb).
 * Usage: bench_json_read [runs (default 9)]. Not a test; no timing is asserted.
 */
#include <jansson.h>
#include <malloc.h>
#include <math.h>

/* The body generator of bench_series (make_body, put_java_double), not its main. */
#define main bench_series_main
#include "bench_series.c"
#undef main

/* What the Jansson reader fills: the columns series_parse gives. */
struct jcols {
	size_t n, ncols;
	char *text;          /* timestamps back to back, NUL-separated */
	double *t;           /* [n] */
	const char *names[64];
	double *values;      /* [n * 64] row-major */
	unsigned char *present;
};

static void jcols_free(struct jcols *c)
{
	free(c->text);
	free(c->t);
	free(c->values);
	free(c->present);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_json_read: %s\n", what);
	exit(1);
}

/* Column of name, added when new; the name is borrowed from the tree (root outlives c). */
static size_t column(struct jcols *c, const char *name)
{
	for (size_t k = 0; k < c->ncols; k++)
		if (strcmp(c->names[k], name) == 0)
			return k;
	if (c->ncols == 64)
		die("more than 64 metrics");
	c->names[c->ncols] = name;
	return c->ncols++;
}

/* json_loadb + the walk into columns; returns the tree (caller decrefs) and fills *c. */
static json_t *jansson_read(const char *body, size_t len, struct jcols *c)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_array(root))
		die(root == NULL ? jerr.text : "not an array");
	size_t n = json_array_size(root), text_len = 0;
	memset(c, 0, sizeof *c);
	c->n = n;
	c->t = malloc(n * sizeof *c->t);
	c->values = malloc(n * 64 * sizeof *c->values);
	c->present = calloc(n * 64, 1);
	for (size_t i = 0; i < n; i++)
		text_len += json_string_length(json_object_get(json_array_get(root, i), "timestamp")) + 1;
	c->text = malloc(text_len + 1);
	if (c->t == NULL || c->values == NULL || c->present == NULL || c->text == NULL)
		die("out of memory");
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *row = json_array_get(root, i);
		json_t *ts = json_object_get(row, "timestamp"), *res = json_object_get(row, "result");
		if (!json_is_string(ts) || !json_is_object(res))
			die("row without timestamp or result");
		size_t tl = json_string_length(ts);
		memcpy(c->text + at, json_string_value(ts), tl + 1);
		if (series_parse_instant(c->text + at, &c->t[i]) != 0)
			die("bad instant");
		at += tl + 1;
		const char *key;
		json_t *v;
		json_object_foreach(res, key, v)
		{
			size_t k = column(c, key);
			if (json_is_number(v)) {
				c->values[i * 64 + k] = json_number_value(v);
				c->present[i * 64 + k] = 1;
			}
		}
	}
	return root;
}

/* The Jansson reader's values against series_parse's, bit for bit. */
static void same(const struct series *s, const struct jcols *c)
{
	if (s->n != c->n || s->ncols != c->ncols)
		die("the readers disagree on the shape");
	for (size_t k = 0; k < c->ncols; k++)
		if (strcmp(s->names[k], c->names[k]) != 0)
			die("the readers disagree on the names");
	for (size_t i = 0; i < s->n; i++) {
		if (s->t[i] != c->t[i] || strcmp(s->timestamps[i], c->text + (s->timestamps[i] - s->text)) != 0)
			die("the readers disagree on a timestamp");
		for (size_t k = 0; k < s->ncols; k++)
			if (memcmp(&s->values[i * s->ncols + k], &c->values[i * 64 + k], sizeof(double)) != 0)
				die("the readers disagree on a value");
	}
}

/* Mean CPU µs per body: mode 0 Jansson load only, 1 Jansson reader, 2 ours. */
static double time_read(const char *body, size_t len, int mode, int iters)
{
	double t0 = bench_cpu_us();
	for (int k = 0; k < iters; k++) {
		if (mode == 0) {
			json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
			if (root == NULL)
				die("json_loadb failed");
			json_decref(root);
		} else if (mode == 1) {
			struct jcols c;
			json_decref(jansson_read(body, len, &c));
			jcols_free(&c);
		} else {
			series_free(parse(body, len, 0));
		}
	}
	return (bench_cpu_us() - t0) / iters;
}

int main(int argc, char **argv)
{
	int runs = bench_runs_arg(argc, argv, 9, "bench_json_read");
	static const struct {
		const char *name;
		size_t rows;
		int iters;
	} cases[] = {
		{"1 hour (60 rows)", 60, 400},
		{"1 week (10,080 rows)", 10080, 10},
	};
	printf("| body (x 11 metrics) | bytes | Jansson load µs | Jansson reader µs | ours µs | "
	       "Jansson reader / ours | Jansson tree heap bytes |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|\n");
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		size_t len;
		char *body = make_body(cases[k].rows, &len);
		struct series *s = parse(body, len, 0);
		struct jcols c;
		size_t before = mallinfo2().uordblks;
		json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
		size_t tree = mallinfo2().uordblks - before;
		json_decref(root);
		root = jansson_read(body, len, &c);
		same(s, &c);
		json_decref(root);
		jcols_free(&c);
		series_free(s);
		double *t[3];
		for (int m = 0; m < 3; m++) {
			t[m] = malloc((size_t)runs * sizeof *t[m]);
			if (t[m] == NULL)
				return 1;
		}
		for (int r = 0; r < runs; r++)
			for (int m = 0; m < 3; m++)
				t[m][r] = time_read(body, len, m, cases[k].iters);
		double med[3];
		for (int m = 0; m < 3; m++) {
			med[m] = bench_median(t[m], (size_t)runs);
			free(t[m]);
		}
		printf("| %s | %zu | %.1f | %.1f | %.1f | %.2f | %zu |\n", cases[k].name, len, med[0], med[1],
		       med[2], med[1] / med[2], tree);
		free(body);
	}
	return 0;
}
