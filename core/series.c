/*
 * series: a Druid timeseries result (a JSON array of
 * {"timestamp": "...", "result": {metric: value, ...}}) parsed into the
 * columnar struct series of include/series.h.
 *
 * The contract for every odd input (order, duplicates, nulls, non-numbers,
 * caps) is docs/INPUT.md; this file implements it in three steps:
 *   1. a cheap byte scan outside strings: nesting depth and the number of
 *      top-level elements, checked against the caps before any tree is built;
 *   2. Jansson builds the tree (duplicate keys rejected, integers read as
 *      doubles so that counters past 2^63 do not fail), and a first pass over
 *      the rows validates each one, parses its instant and collects the
 *      metric names in first-seen order (a small hash table keeps this linear);
 *   3. a second pass copies timestamps and values into the series, in
 *      ascending time order (a stable sort when the input was not ascending).
 *
 * It is not a general JSON reader, a Druid client, or a parser for groupBy /
 * topN answers (those are refused with a hint). ISO-8601 parsing is
 * core/instant.c.
 */
#include "series.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define DEFAULT_MAX_ROWS ((size_t)1000000)
#define DEFAULT_MAX_DEPTH ((size_t)32)
#define DEFAULT_MAX_COLS ((size_t)256)
#define DEFAULT_MAX_CELLS ((size_t)1 << 24)

/* Longest piece of user text quoted in an error message, in bytes. */
#define QUOTE_MAX 48

/* ---- messages ---------------------------------------------------------- */

/*
 * Copies text into buf (size > 4) as printable ASCII, '?' for any other byte,
 * cut to QUOTE_MAX bytes with "..." appended. Keeps messages short and valid
 * UTF-8 whatever the input held. Returns buf.
 */
static const char *quote(char *buf, size_t size, const char *text)
{
	size_t room = size - 4 < QUOTE_MAX ? size - 4 : QUOTE_MAX;
	size_t i = 0;
	for (; text[i] != '\0' && i < room; i++) {
		unsigned char c = (unsigned char)text[i];
		buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (text[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* ---- pre-scan ---------------------------------------------------------- */

static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct scan {
	size_t depth;    /* deepest nesting of '[' and '{' seen so far */
	size_t level;    /* nesting level at the point where the scan stopped */
	size_t commas;   /* commas directly inside the outermost array */
	int array;       /* 1 when the first value of the text is an array */
	int nonempty;    /* 1 when the outermost array holds at least one value */
	int closed;      /* 1 when the outermost value was closed before the stop */
	int over;        /* 1 when depth went past max_depth (scan stopped there) */
};

/*
 * Scans s[0..stop) outside JSON strings, counting brackets. Stops early once
 * the depth passes max_depth. It trusts nothing: malformed text only makes
 * the counts meaningless, and Jansson rejects it afterwards.
 */
static void scan_text(const char *s, size_t stop, size_t max_depth, struct scan *o)
{
	memset(o, 0, sizeof *o);
	int in_string = 0;
	size_t level = 0;
	for (size_t i = 0; i < stop; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (is_json_space(c))
			continue;
		if (level == 1 && o->array && c != ']' && c != ',')
			o->nonempty = 1;
		switch (c) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (level == 0 && o->depth == 0)
				o->array = c == '[';
			level++;
			if (level > o->depth)
				o->depth = level;
			if (o->depth > max_depth) {
				o->over = 1;
				o->level = level;
				return;
			}
			break;
		case ']':
		case '}':
			if (level > 0) {
				level--;
				if (level == 0)
					o->closed = 1;
			}
			break;
		case ',':
			if (level == 1 && o->array)
				o->commas++;
			break;
		default:
			break;
		}
	}
	o->level = level;
}

/* ---- metric names: first-seen order, hashed lookup ---------------------- */

struct colmap {
	const char **names; /* [ncap] borrowed from the Jansson tree */
	size_t n, ncap;
	long *slot;         /* [scap] index into names, -1 when free */
	size_t scap;        /* power of two, > 2 * n */
};

static uint32_t hash_name(const char *k)
{
	uint32_t h = 2166136261u;
	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

static long colmap_find(const struct colmap *m, const char *key, size_t *pos)
{
	size_t mask = m->scap - 1;
	size_t i = hash_name(key) & mask;
	while (m->slot[i] >= 0) {
		if (strcmp(m->names[m->slot[i]], key) == 0) {
			*pos = i;
			return m->slot[i];
		}
		i = (i + 1) & mask;
	}
	*pos = i;
	return -1;
}

static int colmap_rehash(struct colmap *m, size_t scap)
{
	long *slot = malloc(scap * sizeof *slot);
	if (slot == NULL)
		return -1;
	for (size_t i = 0; i < scap; i++)
		slot[i] = -1;
	for (size_t c = 0; c < m->n; c++) {
		size_t i = hash_name(m->names[c]) & (scap - 1);
		while (slot[i] >= 0)
			i = (i + 1) & (scap - 1);
		slot[i] = (long)c;
	}
	free(m->slot);
	m->slot = slot;
	m->scap = scap;
	return 0;
}

/*
 * Column of key, added at the end when new. Returns the column, -1 when out
 * of memory, -2 when adding it would pass max_cols.
 */
static long colmap_get(struct colmap *m, const char *key, size_t max_cols)
{
	size_t pos;
	long c = colmap_find(m, key, &pos);
	if (c >= 0)
		return c;
	if (m->n >= max_cols)
		return -2;
	if (m->n == m->ncap) {
		size_t ncap = m->ncap == 0 ? 16 : m->ncap * 2;
		const char **names = realloc(m->names, ncap * sizeof *names);
		if (names == NULL)
			return -1;
		m->names = names;
		m->ncap = ncap;
	}
	m->names[m->n] = key;
	m->slot[pos] = (long)m->n;
	m->n++;
	if (2 * m->n >= m->scap && colmap_rehash(m, m->scap * 2) != 0)
		return -1;
	return (long)m->n - 1;
}

/* ---- ordering ---------------------------------------------------------- */

struct order {
	double t;
	size_t i; /* input row */
};

static int order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* ---- the parser -------------------------------------------------------- */

static char *copy_string(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* Says what a Jansson tree row looks like when it is not a timeseries row. */
static const char *shape_hint(json_t *row)
{
	if (json_object_get(row, "event") != NULL)
		return " (this looks like a groupBy answer; only timeseries results are supported)";
	if (json_is_array(json_object_get(row, "result")))
		return " (this looks like a topN answer; only timeseries results are supported)";
	if (json_object_get(row, "segmentId") != NULL)
		return " (this looks like a scan answer; only timeseries results are supported)";
	return "";
}

/*
 * Checks one row (input index i, 1-based in messages) and returns its result
 * object (borrowed) and instant, or NULL with err set.
 */
static json_t *check_row(json_t *row, size_t i, double *t, struct rb_err *err)
{
	char q[QUOTE_MAX + 4];
	if (!json_is_object(row)) {
		rb_err_set(err, RB_E_INPUT,
		           "row %zu (1-based): not an object with \"timestamp\" and \"result\"", i + 1);
		return NULL;
	}
	json_t *ts = json_object_get(row, "timestamp"); /* borrowed */
	if (ts == NULL) {
		rb_err_set(err, RB_E_INPUT, "row %zu (1-based): no \"timestamp\"%s", i + 1,
		           shape_hint(row));
		return NULL;
	}
	if (!json_is_string(ts)) {
		rb_err_set(err, RB_E_INPUT, "row %zu (1-based): \"timestamp\" is not a string", i + 1);
		return NULL;
	}
	const char *text = json_string_value(ts);
	size_t len = json_string_length(ts);
	if (len > SERIES_INSTANT_MAX) {
		rb_err_set(err, RB_E_INPUT,
		           "row %zu (1-based): timestamp is longer than %d characters", i + 1,
		           SERIES_INSTANT_MAX);
		return NULL;
	}
	const char *why = strlen(text) == len ? series_instant_error(text, t) : "contains a NUL";
	if (why != NULL) {
		rb_err_set(err, RB_E_INPUT,
		           "row %zu (1-based): timestamp \"%s\" is not an ISO-8601 instant: %s",
		           i + 1, quote(q, sizeof q, text), why);
		return NULL;
	}
	json_t *res = json_object_get(row, "result"); /* borrowed */
	if (res == NULL) {
		rb_err_set(err, RB_E_INPUT, "row %zu (1-based): no \"result\"%s", i + 1,
		           shape_hint(row));
		return NULL;
	}
	if (!json_is_object(res)) {
		rb_err_set(err, RB_E_INPUT, "row %zu (1-based): \"result\" is not an object%s", i + 1,
		           shape_hint(row));
		return NULL;
	}
	return res;
}

static struct series_limits effective_limits(const struct series_limits *l)
{
	struct series_limits e = {0};
	if (l != NULL)
		e = *l;
	if (e.max_bytes == 0)
		e.max_bytes = DEFAULT_MAX_BYTES;
	if (e.max_rows == 0)
		e.max_rows = DEFAULT_MAX_ROWS;
	if (e.max_depth == 0)
		e.max_depth = DEFAULT_MAX_DEPTH;
	if (e.max_cols == 0)
		e.max_cols = DEFAULT_MAX_COLS;
	if (e.max_cells == 0)
		e.max_cells = DEFAULT_MAX_CELLS;
	return e;
}

/* Sets err for a Jansson load failure, naming the row the position falls in. */
static void json_failure(const char *json, size_t len, const json_error_t *je, struct rb_err *err)
{
	char q[QUOTE_MAX + 4], where[64] = "";
	size_t pos = je->position > 0 && (size_t)je->position <= len ? (size_t)je->position : 0;
	if (pos > 0) {
		struct scan at;
		scan_text(json, pos, SIZE_MAX, &at);
		if (at.closed)
			snprintf(where, sizeof where, ", after the end of the array");
		else if (at.array && at.level >= 1)
			snprintf(where, sizeof where, ", in row %zu (1-based)", at.commas + 1);
	}
	rb_err_set(err, RB_E_INPUT, "invalid JSON at line %d, column %d%s: %s", je->line,
	           je->column, where, quote(q, sizeof q, je->text));
}

enum rb_code series_parse(struct series **out, const char *json, size_t len,
                          const struct series_limits *limits, struct rb_err *err)
{
	assert(out != NULL);
	*out = NULL;
	if (json == NULL)
		len = 0;
	struct series_limits lim = effective_limits(limits);
	enum rb_code rc = RB_OK;
	json_t *root = NULL; /* new */
	struct order *ord = NULL;
	struct colmap cols = {0};
	struct series *s = NULL;

	if (len > lim.max_bytes) {
		rc = rb_err_set(err, RB_E_TOO_LARGE,
		                "the series is %zu bytes, over the %zu-byte limit", len, lim.max_bytes);
		goto done;
	}
	size_t lead = 0;
	while (lead < len && is_json_space(json[lead]))
		lead++;
	if (lead == len) {
		rc = rb_err_set(err, RB_E_INPUT, "the series is empty (no JSON text)");
		goto done;
	}
	struct scan sc;
	scan_text(json, len, lim.max_depth, &sc);
	if (sc.over) {
		rc = rb_err_set(err, RB_E_TOO_LARGE,
		                "the JSON is nested deeper than %zu levels (a timeseries result needs 3)",
		                lim.max_depth);
		goto done;
	}
	if (sc.array && sc.nonempty && sc.commas >= lim.max_rows) {
		rc = rb_err_set(err, RB_E_TOO_LARGE, "the series has more than %zu rows", lim.max_rows);
		goto done;
	}

	json_error_t je;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
	if (root == NULL) {
		json_failure(json, len, &je, err);
		rc = RB_E_INPUT;
		goto done;
	}
	if (!json_is_array(root)) {
		rc = rb_err_set(err, RB_E_INPUT,
		                "the series must be a JSON array of {\"timestamp\", \"result\"} rows, "
		                "not an object");
		goto done;
	}
	size_t n = json_array_size(root);
	if (n == 0) {
		rc = rb_err_set(err, RB_E_INPUT, "the series is empty");
		goto done;
	}
	if (n > lim.max_rows) { /* the scan already caught this; kept as a backstop */
		rc = rb_err_set(err, RB_E_TOO_LARGE, "the series has more than %zu rows", lim.max_rows);
		goto done;
	}

	/* Pass 1: validate rows, instants and names, in input order. */
	ord = malloc(n * sizeof *ord);
	cols.slot = NULL;
	if (ord == NULL || colmap_rehash(&cols, 64) != 0) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
		goto done;
	}
	int ascending = 1;
	for (size_t i = 0; i < n; i++) {
		json_t *res = check_row(json_array_get(root, i), i, &ord[i].t, err); /* borrowed */
		if (res == NULL) {
			rc = RB_E_INPUT;
			goto done;
		}
		ord[i].i = i;
		if (i > 0 && ord[i].t < ord[i - 1].t)
			ascending = 0;
		const char *key;
		json_t *val;
		json_object_foreach(res, key, val) {
			long c = colmap_get(&cols, key, lim.max_cols);
			if (c == -1) {
				rc = rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
				goto done;
			}
			if (c == -2) {
				rc = rb_err_set(err, RB_E_TOO_LARGE,
				                "row %zu (1-based): more than %zu distinct metric names",
				                i + 1, lim.max_cols);
				goto done;
			}
		}
	}
	size_t ncols = cols.n;
	if (ncols > 0 && n > lim.max_cells / ncols) {
		rc = rb_err_set(err, RB_E_TOO_LARGE,
		                "%zu rows x %zu metrics is over the %zu-value limit", n, ncols,
		                lim.max_cells);
		goto done;
	}
	if (!ascending)
		qsort(ord, n, sizeof *ord, order_cmp);

	/* Pass 2: copy, in ascending time order. */
	rc = series_alloc(&s, n, ncols, err);
	if (rc != RB_OK)
		goto done;
	s->reordered = !ascending;
	for (size_t c = 0; c < ncols; c++) {
		s->names[c] = copy_string(cols.names[c], strlen(cols.names[c]));
		if (s->names[c] == NULL) {
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
			goto done;
		}
	}
	for (size_t r = 0; r < n; r++) {
		json_t *row = json_array_get(root, ord[r].i);       /* borrowed */
		json_t *ts = json_object_get(row, "timestamp");     /* borrowed */
		json_t *res = json_object_get(row, "result");       /* borrowed */
		s->timestamps[r] = copy_string(json_string_value(ts), json_string_length(ts));
		if (s->timestamps[r] == NULL) {
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
			goto done;
		}
		s->t[r] = ord[r].t;
		const char *key;
		json_t *val;
		json_object_foreach(res, key, val) {
			size_t pos;
			long c = colmap_find(&cols, key, &pos);
			assert(c >= 0);
			size_t cell = r * ncols + (size_t)c;
			if (json_is_number(val)) {
				double v = json_number_value(val);
				if (isfinite(v)) {
					s->values[cell] = v;
					s->present[cell] = 1;
				} else {
					s->n_nonnumeric++;
				}
			} else if (json_is_null(val)) {
				s->n_null++;
			} else {
				s->n_nonnumeric++;
			}
		}
	}

done:
	if (rc != RB_OK) {
		series_free(s);
		s = NULL;
	}
	json_decref(root);
	free(ord);
	free(cols.names);
	free(cols.slot);
	*out = s;
	return rc;
}

enum rb_code series_alloc(struct series **out, size_t n, size_t ncols, struct rb_err *err)
{
	assert(out != NULL);
	*out = NULL;
	if (ncols > 0 && n > SIZE_MAX / sizeof(double) / ncols)
		return rb_err_set(err, RB_E_TOO_LARGE, "%zu rows x %zu metrics is too large", n, ncols);
	size_t cells = n * ncols;
	struct series *s = calloc(1, sizeof *s);
	if (s == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory allocating a series");
	s->n = n;
	s->ncols = ncols;
	/* At least one element each, so that NULL always means failure. */
	s->timestamps = calloc(n > 0 ? n : 1, sizeof *s->timestamps);
	s->t = calloc(n > 0 ? n : 1, sizeof *s->t);
	s->names = calloc(ncols > 0 ? ncols : 1, sizeof *s->names);
	s->values = malloc((cells > 0 ? cells : 1) * sizeof *s->values);
	s->present = calloc(cells > 0 ? cells : 1, 1);
	if (s->timestamps == NULL || s->t == NULL || s->names == NULL || s->values == NULL ||
	    s->present == NULL) {
		series_free(s);
		return rb_err_set(err, RB_E_NOMEM, "out of memory allocating a series");
	}
	for (size_t i = 0; i < cells; i++)
		s->values[i] = NAN;
	*out = s;
	return RB_OK;
}

void series_free(struct series *s)
{
	if (s == NULL)
		return;
	if (s->timestamps != NULL)
		for (size_t i = 0; i < s->n; i++)
			free(s->timestamps[i]);
	if (s->names != NULL)
		for (size_t c = 0; c < s->ncols; c++)
			free(s->names[c]);
	free(s->timestamps);
	free(s->t);
	free(s->names);
	free(s->values);
	free(s->present);
	free(s);
}

long series_col(const struct series *s, const char *name)
{
	if (s == NULL || name == NULL)
		return -1;
	for (size_t c = 0; c < s->ncols; c++)
		if (s->names[c] != NULL && strcmp(s->names[c], name) == 0)
			return (long)c;
	return -1;
}

double series_value(const struct series *s, size_t i, size_t c)
{
	assert(s != NULL && i < s->n && c < s->ncols);
	return s->values[i * s->ncols + c];
}
