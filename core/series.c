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

/* ---- outer scan: caps and row boundaries ------------------------------- */

static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* 1-based line and column of byte pos (for messages only). */
static void locate(const char *s, size_t pos, size_t *line, size_t *col)
{
	size_t l = 1, c = 1;
	for (size_t i = 0; i < pos; i++) {
		if (s[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* Where the rows are: row k is the text strictly between cut[k] and cut[k + 1]. */
struct cuts {
	size_t *cut;  /* [n + 1] the '[' or ',' before each row, then the closing ']' */
	size_t n;     /* rows */
	size_t cap;
};

static int cuts_push(struct cuts *c, size_t pos)
{
	if (c->n + 1 >= c->cap) {
		size_t cap = c->cap == 0 ? 1024 : c->cap * 2;
		size_t *cut = realloc(c->cut, cap * sizeof *cut);
		if (cut == NULL)
			return -1;
		c->cut = cut;
		c->cap = cap;
	}
	c->cut[c->n++] = pos;
	return 0;
}

/*
 * One pass over the bytes, outside JSON strings: checks the depth and row
 * caps, that the text is '[' ... ']' with only whitespace after it, and cuts
 * it at the commas directly inside the array. It checks nothing else: every
 * row is then parsed on its own by Jansson, and since a JSON array is exactly
 * '[' value (',' value)* ']', the text is valid JSON when every row is.
 */
static enum rb_code scan_rows(const char *s, size_t len, const struct series_limits *lim,
                              struct cuts *rows, struct rb_err *err)
{
	size_t i = 0;
	while (i < len && is_json_space(s[i]))
		i++;
	if (i == len)
		return rb_err_set(err, RB_E_INPUT, "the series is empty (no JSON text)");
	if (s[i] != '[')
		return rb_err_set(err, RB_E_INPUT,
		                  "the series must be a JSON array of {\"timestamp\", \"result\"} "
		                  "rows%s", s[i] == '{' ? ", not an object" : "");
	if (cuts_push(rows, i) != 0)
		return rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
	size_t level = 1, depth = 1;
	int in_string = 0;
	for (i++; i < len; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			level++;
			if (level > depth)
				depth = level;
			if (depth > lim->max_depth)
				return rb_err_set(err, RB_E_TOO_LARGE,
				                  "the JSON is nested deeper than %zu levels "
				                  "(a timeseries result needs 3)", lim->max_depth);
		} else if (level == 1 && c == ']') {
			break;
		} else if (level == 1 && c == ',') {
			if (rows->n >= lim->max_rows)
				return rb_err_set(err, RB_E_TOO_LARGE,
				                  "the series has more than %zu rows", lim->max_rows);
			if (cuts_push(rows, i) != 0)
				return rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
		} else if (level > 1 && (c == ']' || c == '}')) {
			level--; /* a mismatched pair is left for Jansson to refuse */
		}
	}
	if (i >= len)
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid JSON: the text ends inside row %zu (1-based); truncated?",
		                  rows->n);
	size_t end = i;
	for (i++; i < len && is_json_space(s[i]); i++)
		;
	if (i < len) {
		size_t line, col;
		locate(s, i, &line, &col);
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid JSON at line %zu, column %zu: text after the end of the array",
		                  line, col);
	}
	if (cuts_push(rows, end) != 0)
		return rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
	rows->n--; /* the closing ']' ends the last row, it does not start one */
	if (rows->n == 1) {
		size_t k = rows->cut[0] + 1;
		while (k < end && is_json_space(s[k]))
			k++;
		if (k == end)
			rows->n = 0;
	}
	return RB_OK;
}

/* ---- metric names: first-seen order, hashed lookup ---------------------- */

static char *copy_string(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

struct colmap {
	char **names;       /* [ncap] owned copies, in first-seen order */
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

/* Column of key or -1; *pos is its slot, or the free slot where it would go. */
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
 * Column of key, added at the end (a copy) when new. Returns the column, -1
 * when out of memory, -2 when adding it would pass max_cols.
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
		char **names = realloc(m->names, ncap * sizeof *names);
		if (names == NULL)
			return -1;
		m->names = names;
		m->ncap = ncap;
	}
	m->names[m->n] = copy_string(key, strlen(key));
	if (m->names[m->n] == NULL)
		return -1;
	m->slot[pos] = (long)m->n;
	m->n++;
	if (2 * m->n >= m->scap && colmap_rehash(m, m->scap * 2) != 0)
		return -1;
	return (long)m->n - 1;
}

static void colmap_release(struct colmap *m)
{
	for (size_t c = 0; c < m->n; c++)
		free(m->names[c]);
	free(m->names);
	free(m->slot);
}

/* ---- per-row results, kept until the number of columns is known -------- */

struct cell {
	size_t col;
	double v;
};

struct cells {
	struct cell *cell; /* finite values of all rows, row by row, input order */
	size_t n, cap;
	size_t *first;     /* [rows + 1] row k's cells are cell[first[k] .. first[k + 1]) */
};

static int cells_push(struct cells *c, size_t col, double v)
{
	if (c->n == c->cap) {
		size_t cap = c->cap == 0 ? 4096 : c->cap * 2;
		struct cell *cell = realloc(c->cell, cap * sizeof *cell);
		if (cell == NULL)
			return -1;
		c->cell = cell;
		c->cap = cap;
	}
	c->cell[c->n].col = col;
	c->cell[c->n].v = v;
	c->n++;
	return 0;
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

/* ---- one row ------------------------------------------------------------ */

/* Says what a row looks like when it is not a timeseries row. */
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
 * Checks one row (input index i, 1-based in messages): returns its result
 * object (borrowed from row) with *t its instant, or NULL with err set.
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

/* ---- the parser -------------------------------------------------------- */

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

/* Sets err for Jansson refusing row i, whose text starts at byte base. */
static enum rb_code row_json_error(const char *json, size_t base, size_t slen, size_t i,
                                   const json_error_t *je, struct rb_err *err)
{
	char q[QUOTE_MAX + 4];
	size_t off = je->position > 0 && (size_t)je->position <= slen ? (size_t)je->position : 0;
	size_t line, col;
	locate(json, base + off, &line, &col);
	return rb_err_set(err, RB_E_INPUT, "row %zu (1-based): invalid JSON at line %zu, column %zu: %s",
	                  i + 1, line, col, quote(q, sizeof q, je->text));
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
	struct cuts rows = {0};
	json_t *row = NULL; /* new: the row being read */
	char **ts = NULL;   /* [n] timestamp copies, input order, moved into s */
	struct order *ord = NULL;
	struct colmap cols = {0};
	struct cells cells = {0};
	struct series *s = NULL;
	size_t n = 0, n_null = 0, n_nonnumeric = 0;

	if (len > lim.max_bytes) {
		rc = rb_err_set(err, RB_E_TOO_LARGE,
		                "the series is %zu bytes, over the %zu-byte limit", len, lim.max_bytes);
		goto done;
	}
	rc = scan_rows(json, len, &lim, &rows, err);
	if (rc != RB_OK)
		goto done;
	n = rows.n;
	if (n == 0) {
		rc = rb_err_set(err, RB_E_INPUT, "the series is empty");
		goto done;
	}

	/* Pass 1, input order: each row on its own tree; names, instants, values. */
	ts = calloc(n, sizeof *ts);
	ord = malloc(n * sizeof *ord);
	cells.first = malloc((n + 1) * sizeof *cells.first);
	if (ts == NULL || ord == NULL || cells.first == NULL || colmap_rehash(&cols, 64) != 0) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
		goto done;
	}
	int ascending = 1;
	for (size_t i = 0; i < n; i++) {
		size_t base = rows.cut[i] + 1, slen = rows.cut[i + 1] - base;
		size_t k = 0;
		while (k < slen && is_json_space(json[base + k]))
			k++;
		if (k == slen) {
			rc = rb_err_set(err, RB_E_INPUT,
			                "row %zu (1-based): invalid JSON: no value before '%c'", i + 1,
			                json[rows.cut[i + 1]]);
			goto done;
		}
		json_error_t je;
		row = json_loadb(json + base, slen,
		                 JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
		if (row == NULL) {
			rc = row_json_error(json, base, slen, i, &je, err);
			goto done;
		}
		json_t *res = check_row(row, i, &ord[i].t, err); /* borrowed */
		if (res == NULL) {
			rc = RB_E_INPUT;
			goto done;
		}
		ord[i].i = i;
		if (i > 0 && ord[i].t < ord[i - 1].t)
			ascending = 0;
		json_t *tsv = json_object_get(row, "timestamp"); /* borrowed */
		ts[i] = copy_string(json_string_value(tsv), json_string_length(tsv));
		if (ts[i] == NULL) {
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
			goto done;
		}
		cells.first[i] = cells.n;
		const char *key;
		json_t *val; /* borrowed */
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
			if (n > lim.max_cells / cols.n) {
				rc = rb_err_set(err, RB_E_TOO_LARGE,
				                "%zu rows x %zu metrics is over the %zu-value limit", n,
				                cols.n, lim.max_cells);
				goto done;
			}
			if (json_is_number(val) && isfinite(json_number_value(val))) {
				if (cells_push(&cells, (size_t)c, json_number_value(val)) != 0) {
					rc = rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
					goto done;
				}
			} else if (json_is_null(val)) {
				n_null++;
			} else {
				n_nonnumeric++;
			}
		}
		json_decref(row);
		row = NULL;
	}
	cells.first[n] = cells.n;
	if (!ascending)
		qsort(ord, n, sizeof *ord, order_cmp);

	/* Pass 2: into the series, in ascending time order. */
	rc = series_alloc(&s, n, cols.n, err);
	if (rc != RB_OK)
		goto done;
	s->reordered = !ascending;
	s->n_null = n_null;
	s->n_nonnumeric = n_nonnumeric;
	for (size_t c = 0; c < cols.n; c++) {
		s->names[c] = cols.names[c];
		cols.names[c] = NULL;
	}
	for (size_t r = 0; r < n; r++) {
		size_t src = ord[r].i;
		s->timestamps[r] = ts[src];
		ts[src] = NULL;
		s->t[r] = ord[r].t;
		for (size_t k = cells.first[src]; k < cells.first[src + 1]; k++) {
			size_t at = r * s->ncols + cells.cell[k].col;
			s->values[at] = cells.cell[k].v;
			s->present[at] = 1;
		}
	}

done:
	if (rc != RB_OK) {
		series_free(s);
		s = NULL;
	}
	json_decref(row);
	if (ts != NULL)
		for (size_t i = 0; i < n; i++)
			free(ts[i]);
	free(ts);
	free(ord);
	free(rows.cut);
	free(cells.cell);
	free(cells.first);
	colmap_release(&cols);
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
