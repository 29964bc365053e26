/*
 * series: a Druid timeseries result (a JSON array of
 * {"timestamp": "...", "result": {metric: value, ...}}) parsed into the
 * columnar struct series of include/rb/input/series.h.
 *
 * The contract for every odd input (order, duplicates, nulls, non-numbers,
 * caps) is docs/INPUT.md; this file holds the Druid row semantics and reads
 * the JSON with the strict tree-less reader of include/rb/input/json_scan.h
 * (core/input/json_scan.c: UTF-8 checked, escapes and surrogate pairs
 * decoded, numbers read by core/input/decimal.c, no recursion). In three
 * steps:
 *   1. scan_rows(): json_scan_cut(), one cheap pass over the bytes, outside
 *      strings, checks the nesting depth and row caps and cuts the array into
 *      rows, before anything is allocated per row;
 *   2. pass 1 reads each row with the json_scan cursor, building no tree:
 *      metric names go to a hash table in first-seen order, finite values to
 *      a flat list, timestamp strings to one block (no allocation per row),
 *      the instant is parsed (core/input/instant.c; a Druid-shaped timestamp
 *      of the same day as the previous one only has its time read);
 *   3. pass 2 moves timestamps and values into the series, in ascending time
 *      order (a stable sort when the input was not ascending).
 * Memory is bounded by the caps and linear in the input; nothing is kept per
 * JSON node. Jansson is not used here: building its tree cost more than
 * everything else (a 100,000-row answer took ~0.8 s of CPU with it).
 *
 * It is not a general JSON reader (that is json_scan), a Druid client, or a
 * parser for groupBy / topN answers (those are refused with a hint). Numbers
 * are converted exactly as strtod() does in the "C" locale; the few that
 * decimal_parse() hands to strtod (over 19 significant digits, exponents past
 * +-19) assume the "C" LC_NUMERIC locale (the daemon never calls setlocale),
 * and a mismatch is detected and refused, never misread.
 */
#include "rb/input/series.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "rb/base/assert.h"
#include "rb/input/decimal.h"
#include "rb/input/json_scan.h"

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

/*
 * The careful path's first pass: json_scan_cut() (rb/input/json_scan.h)
 * checks the depth and row caps, that the text is '[' ... ']' with only
 * whitespace after it, and cuts it into rows, before anything is allocated
 * per row; its outcomes become the series' messages here. Every row is then
 * read on its own by the cursor, and since a JSON array is exactly
 * '[' value (',' value)* ']', the text is valid JSON when every row is.
 */
static enum rb_code scan_rows(const char *s, size_t len, const struct series_limits *lim,
                              struct json_cuts *rows, struct rb_err *err)
{
	size_t at = 0, line, col;
	switch (json_scan_cut(s, len, lim->max_depth, lim->max_rows, rows, &at)) {
	case JSON_CUT_OK:
		return RB_OK;
	case JSON_CUT_EMPTY:
		return rb_err_set(err, RB_E_INPUT, "the series is empty (no JSON text)");
	case JSON_CUT_NOT_ARRAY:
		return rb_err_set(err, RB_E_INPUT,
		                  "the series must be a JSON array of {\"timestamp\", \"result\"} "
		                  "rows%s", s[at] == '{' ? ", not an object" : "");
	case JSON_CUT_DEPTH:
		return rb_err_set(err, RB_E_TOO_LARGE,
		                  "the JSON is nested deeper than %zu levels "
		                  "(a timeseries result needs 3)", lim->max_depth);
	case JSON_CUT_TOO_MANY:
		return rb_err_set(err, RB_E_TOO_LARGE, "the series has more than %zu rows",
		                  lim->max_rows);
	case JSON_CUT_TRUNCATED:
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid JSON: the text ends inside row %zu (1-based); truncated?",
		                  rows->n);
	case JSON_CUT_TRAILING:
		json_scan_locate(s, at, &line, &col);
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid JSON at line %zu, column %zu: text after the end of the array",
		                  line, col);
	case JSON_CUT_NOMEM:
		break;
	}
	return rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
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
	size_t *len;        /* [ncap] strlen(names[c]) */
	unsigned char *plain; /* [ncap] 1 when names[c] is printable ASCII without '"' or '\\' */
	size_t *seen;       /* [ncap] 1 + the last row that carried the name, 0 never */
	long *next;         /* [ncap] column of the key that followed c in the last row, or -1 */
	long first;         /* column of the first key of the last result object, or -1 */
	char (*key)[32];    /* [ncap] '"' name '"' ':' zero-padded, when keylen[c] != 0 */
	unsigned char *keylen; /* [ncap] bytes of key[c] (len + 3 <= 32, plain names), or 0 */
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
static long colmap_find(const struct colmap *m, const char *key, size_t len, size_t *pos)
{
	size_t mask = m->scap - 1;
	size_t i = hash_name(key) & mask;
	while (m->slot[i] >= 0) {
		long c = m->slot[i];
		if (m->len[c] == len && memcmp(m->names[c], key, len) == 0) {
			*pos = i;
			return c;
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

/* Grows the per-column arrays to ncap entries. */
static int colmap_grow(struct colmap *m, size_t ncap)
{
	char **names = realloc(m->names, ncap * sizeof *names);
	if (names == NULL)
		return -1;
	m->names = names;
	size_t *len = realloc(m->len, ncap * sizeof *len);
	if (len == NULL)
		return -1;
	m->len = len;
	unsigned char *plain = realloc(m->plain, ncap);
	if (plain == NULL)
		return -1;
	m->plain = plain;
	size_t *seen = realloc(m->seen, ncap * sizeof *seen);
	if (seen == NULL)
		return -1;
	m->seen = seen;
	long *next = realloc(m->next, ncap * sizeof *next);
	if (next == NULL)
		return -1;
	m->next = next;
	char(*key)[32] = realloc(m->key, ncap * sizeof *key);
	if (key == NULL)
		return -1;
	m->key = key;
	unsigned char *keylen = realloc(m->keylen, ncap);
	if (keylen == NULL)
		return -1;
	m->keylen = keylen;
	m->ncap = ncap;
	return 0;
}

/*
 * Column of key (len bytes, no NUL inside), added at the end (a copy) when
 * new. Returns the column, -1 when out of memory, -2 when adding it would
 * pass max_cols.
 */
static long colmap_get(struct colmap *m, const char *key, size_t len, size_t max_cols)
{
	size_t pos;
	long c = colmap_find(m, key, len, &pos);
	if (c >= 0)
		return c;
	if (m->n >= max_cols)
		return -2;
	if (m->n == m->ncap && colmap_grow(m, m->ncap == 0 ? 16 : m->ncap * 2) != 0)
		return -1;
	m->seen[m->n] = 0;
	m->next[m->n] = -1;
	m->len[m->n] = len;
	unsigned char plain = 1;
	for (size_t k = 0; k < len; k++) {
		unsigned char b = (unsigned char)key[k];
		if (b < 0x20 || b >= 0x7f || b == '"' || b == '\\')
			plain = 0;
	}
	m->plain[m->n] = plain;
	memset(m->key[m->n], 0, sizeof m->key[m->n]);
	m->keylen[m->n] = 0;
	if (plain && len + 3 <= sizeof m->key[m->n]) {
		m->key[m->n][0] = '"';
		memcpy(m->key[m->n] + 1, key, len);
		m->key[m->n][len + 1] = '"';
		m->key[m->n][len + 2] = ':';
		m->keylen[m->n] = (unsigned char)(len + 3);
	}
	m->names[m->n] = copy_string(key, len);
	if (m->names[m->n] == NULL)
		return -1;
	m->slot[pos] = (long)m->n;
	m->n++;
	if (2 * m->n >= m->scap && colmap_rehash(m, m->scap * 2) != 0)
		return -1;
	return (long)m->n - 1;
}

/*
 * 1 when the JSON string at s[pos] (a '"'; the text ends at end) is exactly
 * column c's name written without escapes. Only for plain names: then equal
 * raw bytes followed by '"' can only be that string.
 */
static int colmap_is(const struct colmap *m, long c, const char *s, size_t pos, size_t end)
{
	size_t len = m->len[c];
	return m->plain[c] && end - pos > len + 1 && s[pos + 1 + len] == '"' &&
	       memcmp(s + pos + 1, m->names[c], len) == 0;
}

/*
 * 1 when the text at s[q] (32 bytes readable there) starts with column c's
 * key[c] ('"' name '"' ':', for a plain name: the key string is that name,
 * as in colmap_is, and the ':' follows it at once).
 */
static inline int colmap_key_at(const struct colmap *m, long c, const char *s, size_t q)
{
	unsigned kl = m->keylen[c];
	if (kl == 0)
		return 0;
#if defined(__SSE2__)
	const char *k = m->key[c];
	__m128i t0 = _mm_loadu_si128((const __m128i *)(const void *)(s + q));
	__m128i t1 = _mm_loadu_si128((const __m128i *)(const void *)(s + q + 16));
	__m128i k0 = _mm_loadu_si128((const __m128i *)(const void *)k);
	__m128i k1 = _mm_loadu_si128((const __m128i *)(const void *)(k + 16));
	uint32_t eq = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(t0, k0)) |
	              (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(t1, k1)) << 16;
	uint32_t need = kl == 32 ? 0xFFFFFFFFu : (1u << kl) - 1;
	return (eq & need) == need;
#else
	return memcmp(s + q, m->key[c], kl) == 0;
#endif
}

static void colmap_release(struct colmap *m)
{
	for (size_t c = 0; c < m->n; c++)
		free(m->names[c]);
	free(m->names);
	free(m->len);
	free(m->plain);
	free(m->seen);
	free(m->next);
	free(m->key);
	free(m->keylen);
	free(m->slot);
}

/* ---- timestamp texts: one block for all rows ---------------------------- */

/*
 * The timestamps' bytes, each NUL-terminated, one after the other in one
 * allocation that becomes the series' text (no allocation per row). Rows
 * refer to their timestamp by offset until the block stops moving. Its size
 * is bounded by the input: every timestamp is a string of the text, and a
 * NUL replaces at least its closing quote.
 */
struct text {
	char *p;
	size_t len, cap;
};

/* Appends n bytes and a NUL; *off is where they start. -1 when out of memory. */
static int text_append(struct text *t, const char *bytes, size_t n, size_t *off)
{
	if (n + 1 > t->cap - t->len) {
		size_t cap = t->cap == 0 ? 1024 : t->cap;
		while (n + 1 > cap - t->len)
			cap *= 2;
		char *p = realloc(t->p, cap);
		if (p == NULL)
			return -1;
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, bytes, n);
	t->p[t->len + n] = '\0';
	*off = t->len;
	t->len += n + 1;
	return 0;
}

/* Room for cap bytes before the first append (a guess; appends still grow it). */
static int text_presize(struct text *t, size_t cap)
{
	t->p = malloc(cap);
	if (t->p == NULL)
		return -1;
	t->cap = cap;
	return 0;
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

/*
 * Sizes the cell list once for a text of len bytes: a value takes at least
 * 5 bytes ("":1,) and Druid's about 20, so len / 16 cells rarely need a
 * second allocation (no copying, each page touched once); past it the list
 * still doubles.
 */
static int cells_presize(struct cells *c, size_t len)
{
	size_t cap = len / 16 + 64;
	c->cell = malloc(cap * sizeof *c->cell);
	if (c->cell == NULL)
		return -1;
	c->cap = cap;
	return 0;
}

/* Room for extra more cells without regrowing. -1 when out of memory. */
static int cells_reserve(struct cells *c, size_t extra)
{
	if (c->cap - c->n >= extra)
		return 0;
	size_t cap = c->cap == 0 ? 4096 : c->cap;
	while (cap - c->n < extra)
		cap *= 2;
	struct cell *cell = realloc(c->cell, cap * sizeof *cell);
	if (cell == NULL)
		return -1;
	c->cell = cell;
	c->cap = cap;
	return 0;
}

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


/* ---- reading rows ------------------------------------------------------ */

/* The JSON cursor (rb/input/json_scan.h) and what reading rows adds to it. */
struct reader {
	struct json_scan j;
	int open_end;      /* j.end is the text's end, not the row's: stop after the row's value */
	struct text *text; /* where timestamp strings are copied */
};

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/*
 * Reads the string at pos (a '"') into r->text, at *off. A string of plain
 * bytes (printable ASCII, no escape) is copied once from the text; any other
 * goes through json_scan_string().
 */
static enum json_scan_res read_string_copy(struct reader *r, size_t *off)
{
	struct json_scan *j = &r->j;
	size_t start, n;
	if (json_scan_plain_string(j, &start, &n))
		return text_append(r->text, j->s + start, n, off) != 0 ? JSON_SCAN_NOMEM
		                                                        : JSON_SCAN_OK;
	enum json_scan_res rc = json_scan_string(j);
	if (rc != JSON_SCAN_OK)
		return rc;
	return text_append(r->text, j->str, j->str_len, off) != 0 ? JSON_SCAN_NOMEM : JSON_SCAN_OK;
}



/* What a row held, beyond the values it added to the cells. */
struct row {
	size_t ts;          /* offset of its copy in the reader's text, when ts_string */
	int ts_string;      /* the timestamp was a string (and was copied) */
	int has_timestamp;  /* the key was present */
	int result;         /* 0 absent, 1 an object, 2 an array, 3 another value */
	int event;          /* an "event" key (groupBy) */
	int segment;        /* a "segmentId" key (scan) */
	size_t nulls, others;
};

/* Reads the "result" object at pos (depth 3): names to cols, values to cells. */
static enum rb_code read_result(struct json_scan *j, size_t i, struct colmap *cols,
                                struct cells *cells, struct row *row,
                                const struct series_limits *lim, size_t n, enum json_scan_res *jrc,
                                struct rb_err *err)
{
	char q[QUOTE_MAX + 4];
	j->pos++; /* '{' */
	json_scan_space(j);
	if (json_scan_peek(j) == '}') {
		j->pos++;
		return RB_OK;
	}
	long guess = cols->first; /* rows tend to list their keys in one order */
	long prev = -1;
	for (;;) {
		json_scan_space(j);
		if (json_scan_peek(j) != '"') {
			*jrc = json_scan_fail(j, "expected a key string");
			return RB_E_INPUT;
		}
		long c;
		if (guess >= 0 && colmap_is(cols, guess, j->s, j->pos, j->end)) {
			c = guess;
			j->pos += cols->len[c] + 2;
		} else {
			*jrc = json_scan_string(j);
			if (*jrc != JSON_SCAN_OK)
				return RB_E_INPUT;
			size_t before = cols->n;
			c = colmap_get(cols, j->str, j->str_len, lim->max_cols);
			if (c == -1) {
				*jrc = JSON_SCAN_NOMEM;
				return RB_E_NOMEM;
			}
			if (c == -2)
				return rb_err_set(err, RB_E_TOO_LARGE,
				                  "row %zu (1-based): more than %zu distinct metric names",
				                  i + 1, lim->max_cols);
			/* cols->n only grows here, so checking at each new name is enough */
			if (cols->n != before && n > lim->max_cells / cols->n)
				return rb_err_set(err, RB_E_TOO_LARGE,
				                  "%zu rows x %zu metrics is over the %zu-value limit", n,
				                  cols->n, lim->max_cells);
		}
		if (prev < 0)
			cols->first = c;
		else
			cols->next[prev] = c;
		prev = c;
		guess = cols->next[c];
		if (cols->seen[c] == i + 1)
			return rb_err_set(err, RB_E_INPUT, "row %zu (1-based): metric \"%s\" given twice",
			                  i + 1, quote(q, sizeof q, cols->names[c]));
		cols->seen[c] = i + 1;
		*jrc = json_scan_colon(j);
		if (*jrc != JSON_SCAN_OK)
			return RB_E_INPUT;
		int v0 = json_scan_peek(j);
		if (v0 == '-' || is_digit(v0)) {
			double v;
			*jrc = json_scan_number(j, &v);
			if (*jrc != JSON_SCAN_OK)
				return RB_E_INPUT;
			if (cells_push(cells, (size_t)c, v) != 0) {
				*jrc = JSON_SCAN_NOMEM;
				return RB_E_NOMEM;
			}
		} else {
			*jrc = json_scan_skip(j, 3);
			if (*jrc != JSON_SCAN_OK)
				return *jrc == JSON_SCAN_NOMEM ? RB_E_NOMEM : RB_E_INPUT;
			if (v0 == 'n')
				row->nulls++;
			else
				row->others++;
		}
		json_scan_space(j);
		if (json_scan_peek(j) == ',') {
			j->pos++;
			continue;
		}
		if (json_scan_peek(j) == '}') {
			j->pos++;
			return RB_OK;
		}
		*jrc = json_scan_fail(j, "expected ',' or '}'");
		return RB_E_INPUT;
	}
}

/*
 * Reads row i, the text j->pos .. j->end (depth 2 once inside the object).
 * On RB_OK the row's shape has still to be checked by the caller (row_shape).
 * A JSON error returns RB_E_INPUT (or NOMEM / TOO_LARGE) with *jrc saying
 * which, err unset; a cap or a duplicate returns with err set and *jrc JSON_SCAN_OK.
 */
static enum rb_code read_row(struct reader *r, size_t i, struct colmap *cols,
                             struct cells *cells, struct row *row,
                             const struct series_limits *lim, size_t n, enum json_scan_res *jrc,
                             struct rb_err *err)
{
	struct json_scan *j = &r->j;
	*jrc = JSON_SCAN_OK;
	json_scan_space(j);
	if (json_scan_peek(j) != '{' && r->open_end) {
		*jrc = json_scan_fail(j, "not an object");
		return RB_E_INPUT;
	}
	if (json_scan_peek(j) != '{') {
		*jrc = json_scan_skip(j, 1);
		if (*jrc != JSON_SCAN_OK)
			return *jrc == JSON_SCAN_NOMEM ? RB_E_NOMEM : RB_E_INPUT;
		json_scan_space(j);
		if (j->pos != j->end) {
			*jrc = json_scan_fail(j, "expected ',' or ']' after the row");
			return RB_E_INPUT;
		}
		return rb_err_set(err, RB_E_INPUT,
		                  "row %zu (1-based): not an object with \"timestamp\" and \"result\"",
		                  i + 1);
	}
	if (2 > j->max_depth) {
		*jrc = JSON_SCAN_DEPTH;
		return RB_E_TOO_LARGE;
	}
	j->pos++;
	json_scan_space(j);
	int first = 1;
	while (!(first && json_scan_peek(j) == '}')) {
		first = 0;
		json_scan_space(j);
		if (json_scan_peek(j) != '"') {
			*jrc = json_scan_fail(j, "expected a key string");
			return RB_E_INPUT;
		}
		/* The two keys that matter, when written plainly, are matched on the raw bytes. */
		enum { K_OTHER, K_TIMESTAMP, K_RESULT } key = K_OTHER;
		if (json_scan_raw(j, "\"timestamp\"", 11)) {
			key = K_TIMESTAMP;
		} else if (json_scan_raw(j, "\"result\"", 8)) {
			key = K_RESULT;
		} else {
			*jrc = json_scan_string(j);
			if (*jrc != JSON_SCAN_OK)
				return *jrc == JSON_SCAN_NOMEM ? RB_E_NOMEM : RB_E_INPUT;
			if (strcmp(j->str, "timestamp") == 0)
				key = K_TIMESTAMP;
			else if (strcmp(j->str, "result") == 0)
				key = K_RESULT;
		}
		*jrc = json_scan_colon(j);
		if (*jrc != JSON_SCAN_OK)
			return RB_E_INPUT;
		enum rb_code rc = RB_OK;
		if (key == K_TIMESTAMP) {
			if (row->has_timestamp)
				return rb_err_set(err, RB_E_INPUT,
				                  "row %zu (1-based): \"timestamp\" given twice", i + 1);
			row->has_timestamp = 1;
			if (json_scan_peek(j) == '"') {
				*jrc = read_string_copy(r, &row->ts);
				row->ts_string = *jrc == JSON_SCAN_OK;
			} else {
				*jrc = json_scan_skip(j, 2);
			}
		} else if (key == K_RESULT) {
			if (row->result != 0)
				return rb_err_set(err, RB_E_INPUT,
				                  "row %zu (1-based): \"result\" given twice", i + 1);
			int c = json_scan_peek(j);
			if (c == '{') {
				row->result = 1;
				if (3 > j->max_depth) {
					*jrc = JSON_SCAN_DEPTH;
					return RB_E_TOO_LARGE;
				}
				rc = read_result(j, i, cols, cells, row, lim, n, jrc, err);
			} else {
				row->result = c == '[' ? 2 : 3;
				*jrc = json_scan_skip(j, 2);
			}
		} else {
			row->event |= strcmp(j->str, "event") == 0;
			row->segment |= strcmp(j->str, "segmentId") == 0;
			*jrc = json_scan_skip(j, 2);
		}
		if (rc != RB_OK)
			return rc;
		if (*jrc != JSON_SCAN_OK)
			return *jrc == JSON_SCAN_NOMEM   ? RB_E_NOMEM
			       : *jrc == JSON_SCAN_DEPTH ? RB_E_TOO_LARGE
			                                 : RB_E_INPUT;
		json_scan_space(j);
		if (json_scan_peek(j) == ',') {
			j->pos++;
			json_scan_space(j);
			continue;
		}
		if (json_scan_peek(j) != '}') {
			*jrc = json_scan_fail(j, "expected ',' or '}'");
			return RB_E_INPUT;
		}
		break;
	}
	j->pos++; /* '}' */
	if (r->open_end)
		return RB_OK;
	json_scan_space(j);
	if (j->pos != j->end) {
		*jrc = json_scan_fail(j, "expected ',' or ']' after the row");
		return RB_E_INPUT;
	}
	return RB_OK;
}

/* Says what a row looks like when it is not a timeseries row. */
static const char *shape_hint(const struct row *row)
{
	if (row->event)
		return " (this looks like a groupBy answer; only timeseries results are supported)";
	if (row->result == 2)
		return " (this looks like a topN answer; only timeseries results are supported)";
	if (row->segment)
		return " (this looks like a scan answer; only timeseries results are supported)";
	return "";
}

/*
 * The last date seen by the full instant parser in a timestamp of Druid's
 * own shape, "YYYY-MM-DDThh:mm:ss.000Z" (or without ".000"): consecutive
 * rows differ only in the time of day, so a timestamp of that shape with
 * the same first 11 bytes needs only its time read. The instant is then the
 * same integer number of seconds converted once to double, plus a zero
 * fraction, as instant.c computes it: the same bits.
 */
struct instant_cache {
	char prefix[11]; /* "YYYY-MM-DDT" */
	long long base;  /* seconds from the epoch to that day's 00:00:00Z */
	int valid;
};

static int two_digits(const char *p, int max)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	int v = (p[0] - '0') * 10 + (p[1] - '0');
	return v <= max ? v : -1;
}

/*
 * Seconds of the day of ts (len bytes) when its time part is Druid's
 * "hh:mm:ss.000Z" or "hh:mm:ssZ" with fields in range; -1 for any other text
 * (which the full parser then reads, or refuses with its reason).
 */
static long plain_time(const char *ts, size_t len)
{
	if (len == 24) {
		if (memcmp(ts + 19, ".000Z", 5) != 0)
			return -1;
	} else if (len != 20 || ts[19] != 'Z') {
		return -1;
	}
	if (ts[13] != ':' || ts[16] != ':')
		return -1;
	int h = two_digits(ts + 11, 23), m = two_digits(ts + 14, 59), sec = two_digits(ts + 17, 59);
	if (h < 0 || m < 0 || sec < 0)
		return -1;
	return h * 3600L + m * 60L + sec;
}

/* series_instant_error(ts, t) for ts of len bytes, through the cache when it applies. */
static const char *instant_cached(struct instant_cache *c, const char *ts, size_t len, double *t)
{
	long sec = plain_time(ts, len);
	if (sec >= 0 && c->valid && memcmp(ts, c->prefix, sizeof c->prefix) == 0) {
		*t = (double)(c->base + sec);
		return NULL;
	}
	const char *why = series_instant_error(ts, t);
	if (why == NULL && sec >= 0 && fabs(*t) < 1e15) {
		memcpy(c->prefix, ts, sizeof c->prefix);
		c->base = (long long)*t - sec; /* *t is a whole number of seconds here */
		c->valid = 1;
	}
	return why;
}

/*
 * Checks a row read without a JSON error: timestamp and result present and
 * usable. text holds the timestamp's copy.
 */
static enum rb_code row_shape(const struct row *row, const char *text,
                              struct instant_cache *cache, size_t i, double *t,
                              struct rb_err *err)
{
	char q[QUOTE_MAX + 4];
	if (!row->has_timestamp)
		return rb_err_set(err, RB_E_INPUT, "row %zu (1-based): no \"timestamp\"%s", i + 1,
		                  shape_hint(row));
	if (!row->ts_string)
		return rb_err_set(err, RB_E_INPUT, "row %zu (1-based): \"timestamp\" is not a string",
		                  i + 1);
	const char *ts = text + row->ts;
	size_t len = strlen(ts);
	if (len > SERIES_INSTANT_MAX)
		return rb_err_set(err, RB_E_INPUT,
		                  "row %zu (1-based): timestamp is longer than %d characters", i + 1,
		                  SERIES_INSTANT_MAX);
	const char *why = instant_cached(cache, ts, len, t);
	if (why != NULL)
		return rb_err_set(err, RB_E_INPUT,
		                  "row %zu (1-based): timestamp \"%s\" is not an ISO-8601 instant: %s",
		                  i + 1, quote(q, sizeof q, ts), why);
	if (row->result == 0)
		return rb_err_set(err, RB_E_INPUT, "row %zu (1-based): no \"result\"%s", i + 1,
		                  shape_hint(row));
	if (row->result != 1)
		return rb_err_set(err, RB_E_INPUT, "row %zu (1-based): \"result\" is not an object%s",
		                  i + 1, shape_hint(row));
	return RB_OK;
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

/*
 * Sets err for a reader failure in row i (JSON_SCAN_OK: err already set by
 * the reader's caller).
 */
static enum rb_code row_failure(const struct json_scan *j, size_t i, enum rb_code rc,
                                enum json_scan_res jrc, const struct series_limits *lim,
                                struct rb_err *err)
{
	size_t line, col;
	switch (jrc) {
	case JSON_SCAN_OK:
		return rc;
	case JSON_SCAN_NOMEM:
		return rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
	case JSON_SCAN_DEPTH:
		return rb_err_set(err, RB_E_TOO_LARGE,
		                  "the JSON is nested deeper than %zu levels "
		                  "(a timeseries result needs 3)", lim->max_depth);
	case JSON_SCAN_SYNTAX:
		break;
	}
	json_scan_locate(j->s, j->pos, &line, &col);
	return rb_err_set(err, RB_E_INPUT, "row %zu (1-based): invalid JSON at line %zu, column %zu: %s",
	                  i + 1, line, col, j->why);
}

/* Pass 1's results, input order, until pass 2 moves them into a series. */
struct pass {
	size_t *ts;         /* [cap] offsets of the timestamps in text */
	struct text text;   /* the timestamps, moved into the series */
	struct instant_cache instants;
	struct order *ord;  /* [cap] instants */
	size_t cap;         /* capacity of ts, ord and cells.first (which has cap + 1) */
	size_t n;           /* rows read */
	struct colmap cols;
	struct cells cells;
	size_t n_null, n_nonnumeric;
	int ascending;
};

/* Room for rows 0 .. need - 1 (and cells.first[need]). */
static int pass_reserve(struct pass *p, size_t need)
{
	if (need <= p->cap)
		return 0;
	size_t cap = p->cap == 0 ? need : p->cap;
	while (cap < need)
		cap *= 2;
	size_t *ts = realloc(p->ts, cap * sizeof *ts);
	if (ts == NULL)
		return -1;
	p->ts = ts;
	struct order *ord = realloc(p->ord, cap * sizeof *ord);
	if (ord == NULL)
		return -1;
	p->ord = ord;
	size_t *first = realloc(p->cells.first, (cap + 1) * sizeof *first);
	if (first == NULL)
		return -1;
	p->cells.first = first;
	p->cap = cap;
	return 0;
}

static void pass_release(struct pass *p)
{
	free(p->ts);
	free(p->text.p);
	free(p->ord);
	free(p->cells.cell);
	free(p->cells.first);
	colmap_release(&p->cols);
}

/* Row i has been read without error: checks its shape and keeps it. */
static enum rb_code pass_keep(struct pass *p, size_t i, struct row *row, struct rb_err *err)
{
	enum rb_code rc = row_shape(row, p->text.p, &p->instants, i, &p->ord[i].t, err);
	if (rc != RB_OK)
		return rc;
	p->ord[i].i = i;
	if (i > 0 && p->ord[i].t < p->ord[i - 1].t)
		p->ascending = 0;
	p->ts[i] = row->ts;
	p->n_null += row->nulls;
	p->n_nonnumeric += row->others;
	p->n = i + 1;
	return RB_OK;
}

/* Most metrics a row may carry on the fast path (read_row_druid); more go the general way. */
#define DRUID_ROW_MAX_COLS 16

/*
 * The fast path for row i written exactly as Druid writes it, j->pos at its '{':
 *   {"timestamp":"YYYY-MM-DDThh:mm:ss.000Z","result":{"m1":number,"m2":number}}
 * compact, the two keys in that order, the timestamp of the day the instant cache
 * holds (instant_cached's hit case), only metric names already seen, written plainly and
 * in the order the previous row listed them (the guess chain of read_result), each once,
 * only numbers. Then the row is kept (pass_keep's effects, for a row with no null and
 * no other value) and j->pos is past its '}'; returns 1. Anything else returns 0 with
 * nothing changed (no byte appended, no value pushed, j->pos where it was): the caller
 * reads the row with read_row(), the general reader, which gives the same result for a
 * row this accepts (tests/test_series_paths.c holds the two to it, bit for bit). -1 when
 * out of memory.
 */
static int read_row_druid(struct reader *r, size_t i, struct pass *p)
{
	static const char head[] = "{\"timestamp\":\"";     /* 14 bytes */
	static const char mid[] = "\",\"result\":{";        /* 12 bytes */
	struct json_scan *j = &r->j;
	const char *s = j->s;
	size_t at = j->pos, end = j->end;
	const struct instant_cache *ic = &p->instants;
	/* head, 24 bytes of timestamp, mid, and at least "}}" */
	if (!ic->valid || j->max_depth < 3 || end - at < 14 + 24 + 12 + 2 ||
	    memcmp(s + at, head, 14) != 0 || memcmp(s + at + 38, mid, 12) != 0)
		return 0;
	const char *ts = s + at + 14;
	long sec = plain_time(ts, 24);
	if (sec < 0 || memcmp(ts, ic->prefix, sizeof ic->prefix) != 0)
		return 0;
	size_t q = at + 50;
	size_t ncol = 0;
	uint64_t given = 0; /* bit c: column c < 64 already in this row */
	const struct colmap *m = &p->cols;
	struct cells *cells = &p->cells;
	int via_strtod = (j->opts & JSON_SCAN_NUMBERS_STRTOD) != 0;
	long c = m->first;
	/* the row's values go to cell[n ..] directly, and only count once the row is accepted */
	if (cells_reserve(cells, DRUID_ROW_MAX_COLS) != 0)
		return -1;
	struct cell *out = cells->cell + cells->n;
	if (s[q] != '}') {
		for (;;) {
			/* '"' name '"' ':' and, at the least, one byte of value and the "}}" */
			if (c < 0 || c >= 64 || ncol == DRUID_ROW_MAX_COLS || end - q < 32 ||
			    !colmap_key_at(m, c, s, q))
				return 0;
			if ((given >> c) & 1)
				return 0; /* given twice: the general reader says so */
			given |= (uint64_t)1 << c;
			q += m->keylen[c];
			/* json_scan_number's reading, without the cursor */
			size_t used;
			enum decimal_res d =
				via_strtod ? decimal_parse_strtod(s + q, end - q, &used, &out[ncol].v)
				           : decimal_parse(s + q, end - q, &used, &out[ncol].v);
			q += used;
			if (d != DECIMAL_OK || q >= end)
				return 0;
			out[ncol++].col = (size_t)c;
			if (s[q] == '}')
				break;
			if (s[q] != ',')
				return 0;
			q++;
			c = m->next[c];
		}
	}
	/* s[q] is the result's '}'; the row's must follow */
	if (end - q < 2 || s[q + 1] != '}')
		return 0;
	size_t off;
	if (text_append(r->text, ts, 24, &off) != 0)
		return -1;
	cells->n += ncol;
	/* instant_cached's hit: the same double */
	p->ord[i].t = (double)(ic->base + sec);
	p->ord[i].i = i;
	if (i > 0 && p->ord[i].t < p->ord[i - 1].t)
		p->ascending = 0;
	p->ts[i] = off;
	p->n = i + 1;
	j->pos = q + 2;
	return 1;
}

/* Pass 2: the rows into a new series *out, in ascending time order. */
static enum rb_code pass_build(struct pass *p, struct series **out, struct rb_err *err)
{
	size_t n = p->n;
	p->cells.first[n] = p->cells.n;
	if (!p->ascending)
		qsort(p->ord, n, sizeof *p->ord, order_cmp);
	struct series *s;
	enum rb_code rc = series_alloc(&s, n, p->cols.n, err);
	if (rc != RB_OK)
		return rc;
	s->reordered = !p->ascending;
	s->n_null = p->n_null;
	s->n_nonnumeric = p->n_nonnumeric;
	for (size_t c = 0; c < p->cols.n; c++) {
		s->names[c] = p->cols.names[c];
		p->cols.names[c] = NULL;
	}
	s->text = p->text.p;
	s->text_len = p->text.len;
	p->text.p = NULL;
	/* in locals: a store through present (char) may alias any field, which the compiler
	 * would otherwise load again for every cell */
	const struct cell *cell = p->cells.cell;
	const size_t *first = p->cells.first;
	double *values = s->values;
	unsigned char *present = s->present;
	size_t ncols = s->ncols;
	for (size_t r = 0; r < n; r++) {
		size_t src = p->ord[r].i;
		s->timestamps[r] = s->text + p->ts[src];
		s->t[r] = p->ord[r].t;
		for (size_t k = first[src]; k < first[src + 1]; k++) {
			size_t at = r * ncols + cell[k].col;
			values[at] = cell[k].v;
			present[at] = 1;
		}
	}
	*out = s;
	return RB_OK;
}

/*
 * The careful way, the one that reports errors: scan_rows() first (caps,
 * row boundaries), then each row read within its bounds.
 */
static enum rb_code parse_prescan(struct series **out, const char *json, size_t len,
                                  const struct series_limits *lim, int strtod_numbers,
                                  struct rb_err *err)
{
	enum rb_code rc;
	struct json_cuts rows = {0};
	struct reader rd = {0};
	struct json_scan *j = &rd.j;
	struct row row = {0};
	struct pass p = {.ascending = 1, .cols = {.first = -1}};
	size_t n = 0;
	json_scan_init(j, json, 0, 0, lim->max_depth, strtod_numbers ? JSON_SCAN_NUMBERS_STRTOD : 0);
	rd.text = &p.text;

	rc = scan_rows(json, len, lim, &rows, err);
	if (rc != RB_OK)
		goto done;
	n = rows.n;
	if (n == 0) {
		rc = rb_err_set(err, RB_E_INPUT, "the series is empty");
		goto done;
	}
	if (pass_reserve(&p, n) != 0 || colmap_rehash(&p.cols, 64) != 0 ||
	    cells_presize(&p.cells, len) != 0) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory reading the series");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		j->pos = rows.cut[i] + 1;
		j->end = rows.cut[i + 1];
		json_scan_space(j);
		if (j->pos == j->end) {
			rc = rb_err_set(err, RB_E_INPUT,
			                "row %zu (1-based): invalid JSON: no value before '%c'", i + 1,
			                json[rows.cut[i + 1]]);
			goto done;
		}
		memset(&row, 0, sizeof row);
		p.cells.first[i] = p.cells.n;
		enum json_scan_res jrc;
		rc = read_row(&rd, i, &p.cols, &p.cells, &row, lim, n, &jrc, err);
		if (rc != RB_OK) {
			rc = row_failure(j, i, rc, jrc, lim, err);
			goto done;
		}
		rc = pass_keep(&p, i, &row, err);
		if (rc != RB_OK)
			goto done;
	}
	rc = pass_build(&p, out, err);
done:
	free(rows.cut);
	json_scan_release(j);
	pass_release(&p);
	return rc;
}

/*
 * The quick way for text that has no problem: one pass, each row read up to
 * the ',' or ']' after its value, caps checked as they are reached. Returns
 * RB_OK with *out set, or anything else (err then holds a scratch message)
 * at the first thing amiss, whatever it is: the caller then runs
 * parse_prescan(), which finds the same result or the error to report. On
 * success every check of parse_prescan() has been made (the reader checks
 * the nesting of everything it opens, the rows are counted, max_cells is
 * checked with the final counts, which is where it is strictest).
 */
static enum rb_code parse_direct(struct series **out, const char *json, size_t len,
                                 const struct series_limits *lim, int strtod_numbers,
                                 int rows_fast, struct rb_err *err)
{
	enum rb_code rc = RB_E_INPUT;
	struct reader rd = {.open_end = 1};
	struct json_scan *j = &rd.j;
	struct row row = {0};
	struct pass p = {.ascending = 1, .cols = {.first = -1}};
	json_scan_init(j, json, 0, len, lim->max_depth,
	               strtod_numbers ? JSON_SCAN_NUMBERS_STRTOD : 0);
	rd.text = &p.text;
	/* A Druid row takes 100 to 400 bytes: room for most answers without regrowing. */
	size_t rows_guess = len / 128 + 8;
	if (rows_guess > lim->max_rows)
		rows_guess = lim->max_rows;

	json_scan_space(j);
	if (json_scan_peek(j) != '[' || colmap_rehash(&p.cols, 64) != 0 ||
	    cells_presize(&p.cells, len) != 0 || pass_reserve(&p, rows_guess) != 0 ||
	    text_presize(&p.text, rows_guess * 25) != 0) /* "2023-09-21T09:00:00.000Z" */
		goto done;
	j->pos++;
	for (size_t i = 0;; i++) {
		json_scan_space(j);
		int c = json_scan_peek(j);
		if (c == ']' || c == ',' || c < 0 || i >= lim->max_rows || pass_reserve(&p, i + 1) != 0)
			goto done;
		p.cells.first[i] = p.cells.n;
		int quick = rows_fast ? read_row_druid(&rd, i, &p) : 0;
		if (quick < 0)
			goto done;
		if (quick == 0) {
			memset(&row, 0, sizeof row);
			enum json_scan_res jrc;
			/* n = 0: read_result's max_cells check is left to the end */
			rc = read_row(&rd, i, &p.cols, &p.cells, &row, lim, 0, &jrc, err);
			if (rc == RB_OK)
				rc = pass_keep(&p, i, &row, err);
			if (rc != RB_OK)
				goto done;
		}
		rc = RB_E_INPUT;
		json_scan_space(j);
		c = json_scan_peek(j);
		j->pos++;
		if (c == ']')
			break;
		if (c != ',')
			goto done;
	}
	json_scan_space(j);
	if (j->pos != len || (p.cols.n > 0 && p.n > lim->max_cells / p.cols.n))
		goto done;
	rc = pass_build(&p, out, err);
done:
	json_scan_release(j);
	pass_release(&p);
	return rc;
}

enum rb_code series_parse(struct series **out, const char *json, size_t len,
                          const struct series_limits *limits, struct rb_err *err)
{
	return series_parse_with(out, json, len, limits, 0, err);
}

enum rb_code series_parse_with(struct series **out, const char *json, size_t len,
                               const struct series_limits *limits, unsigned opts,
                               struct rb_err *err)
{
	RB_ASSERT(out != NULL);
	*out = NULL;
	if (json == NULL)
		len = 0;
	struct series_limits lim = effective_limits(limits);
	int strtod_numbers = (opts & SERIES_OPT_NUMBERS_STRTOD) != 0;
	if (len > lim.max_bytes)
		return rb_err_set(err, RB_E_TOO_LARGE,
		                  "the series is %zu bytes, over the %zu-byte limit", len,
		                  lim.max_bytes);
	if (!(opts & SERIES_OPT_PRESCAN)) {
		struct rb_err scratch;
		if (parse_direct(out, json, len, &lim, strtod_numbers,
		                 !(opts & SERIES_OPT_ROWS_GENERAL), &scratch) == RB_OK)
			return RB_OK;
	}
	return parse_prescan(out, json, len, &lim, strtod_numbers, err);
}

enum rb_code series_alloc(struct series **out, size_t n, size_t ncols, struct rb_err *err)
{
	RB_ASSERT(out != NULL);
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

/* 1 when p points into s->text (a string of the block, not its own allocation). */
static int in_text(const struct series *s, const char *p)
{
	return s->text != NULL && (uintptr_t)p - (uintptr_t)s->text < s->text_len;
}

void series_free(struct series *s)
{
	if (s == NULL)
		return;
	if (s->timestamps != NULL)
		for (size_t i = 0; i < s->n; i++)
			if (!in_text(s, s->timestamps[i]))
				free(s->timestamps[i]);
	free(s->text);
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

void series_drop_head(struct series *s, size_t k)
{
	RB_ASSERT(s != NULL && k <= s->n);
	if (k == 0)
		return;
	for (size_t i = 0; i < k; i++)
		if (!in_text(s, s->timestamps[i]))
			free(s->timestamps[i]);
	size_t rest = s->n - k, nc = s->ncols;
	memmove(s->timestamps, s->timestamps + k, rest * sizeof *s->timestamps);
	memmove(s->t, s->t + k, rest * sizeof *s->t);
	memmove(s->values, s->values + k * nc, rest * nc * sizeof *s->values);
	memmove(s->present, s->present + k * nc, rest * nc * sizeof *s->present);
	s->n = rest;
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
	RB_ASSERT(s != NULL && i < s->n && c < s->ncols); /* else another row's value, or none */
	return s->values[i * s->ncols + c];
}
