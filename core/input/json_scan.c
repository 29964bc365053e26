/*
 * json_scan: the strict, tree-less JSON reader of include/rb/input/json_scan.h
 * (its contract is there): the cursor's out-of-line steps (strings, numbers,
 * skipping any value with an explicit stack), json_scan_depth_ok() (the
 * nesting pre-check alone) and json_scan_cut(), the pass that cuts a
 * top-level array into elements. The hot one-byte steps (spaces, peek, ':',
 * raw and plain matches) are static inline in the header.
 *
 * It is not a JSON parser into a tree, not a validator of a whole document
 * by itself (the caller says where values are), and knows nothing of Druid
 * (core/input/series.c). Numbers are converted by core/input/decimal.c.
 */
#include "rb/input/json_scan.h"

#include <stdlib.h>
#include <string.h>

#include "rb/input/decimal.h"

void json_scan_init(struct json_scan *j, const char *s, size_t pos, size_t end, size_t max_depth,
                    unsigned opts)
{
	memset(j, 0, sizeof *j);
	j->s = s;
	j->pos = pos;
	j->end = end;
	j->max_depth = max_depth;
	j->opts = opts;
}

void json_scan_release(struct json_scan *j)
{
	free(j->str);
	free(j->stack);
	j->str = NULL;
	j->stack = NULL;
	j->str_len = j->str_cap = j->stack_cap = 0;
}

void json_scan_locate(const char *s, size_t pos, size_t *line, size_t *col)
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

/* ---- strings ------------------------------------------------------------ */

static enum json_scan_res str_append(struct json_scan *j, const char *bytes, size_t n)
{
	if (j->str_len + n + 1 > j->str_cap) {
		size_t cap = j->str_cap == 0 ? 256 : j->str_cap;
		while (cap < j->str_len + n + 1)
			cap *= 2;
		char *str = realloc(j->str, cap);
		if (str == NULL)
			return JSON_SCAN_NOMEM;
		j->str = str;
		j->str_cap = cap;
	}
	memcpy(j->str + j->str_len, bytes, n);
	j->str_len += n;
	j->str[j->str_len] = '\0';
	return JSON_SCAN_OK;
}

static int hex4(const char *p, unsigned *v)
{
	unsigned x = 0;
	for (int k = 0; k < 4; k++) {
		char c = p[k];
		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p (at most avail bytes), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* no overlong forms */
		if (c == 0xED)
			hi = 0x9F; /* no UTF-16 surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F; /* nothing past U+10FFFF */
	} else {
		return 0;
	}
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return n;
}

enum json_scan_res json_scan_string(struct json_scan *j)
{
	j->str_len = 0;
	if (str_append(j, "", 0) != JSON_SCAN_OK)
		return JSON_SCAN_NOMEM;
	j->pos++; /* the opening quote */
	for (;;) {
		size_t run = j->pos;
		while (run < j->end) {
			unsigned char c = (unsigned char)j->s[run];
			if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
				break;
			run++;
		}
		if (run > j->pos && str_append(j, j->s + j->pos, run - j->pos) != JSON_SCAN_OK)
			return JSON_SCAN_NOMEM;
		j->pos = run;
		if (j->pos >= j->end)
			return json_scan_fail(j, "unterminated string");
		unsigned char c = (unsigned char)j->s[j->pos];
		if (c == '"') {
			j->pos++;
			return JSON_SCAN_OK;
		}
		if (c < 0x20)
			return json_scan_fail(j, "control character in a string");
		if (c >= 0x80) {
			size_t n = utf8_len((const unsigned char *)j->s + j->pos, j->end - j->pos);
			if (n == 0)
				return json_scan_fail(j, "invalid UTF-8 in a string");
			if (str_append(j, j->s + j->pos, n) != JSON_SCAN_OK)
				return JSON_SCAN_NOMEM;
			j->pos += n;
			continue;
		}
		/* An escape. */
		if (j->end - j->pos < 2)
			return json_scan_fail(j, "unterminated string");
		char e = j->s[j->pos + 1];
		const char *simple = NULL;
		switch (e) {
		case '"': simple = "\""; break;
		case '\\': simple = "\\"; break;
		case '/': simple = "/"; break;
		case 'b': simple = "\b"; break;
		case 'f': simple = "\f"; break;
		case 'n': simple = "\n"; break;
		case 'r': simple = "\r"; break;
		case 't': simple = "\t"; break;
		case 'u': break;
		default: return json_scan_fail(j, "invalid escape in a string");
		}
		if (simple != NULL) {
			if (str_append(j, simple, 1) != JSON_SCAN_OK)
				return JSON_SCAN_NOMEM;
			j->pos += 2;
			continue;
		}
		unsigned cp, lo;
		if (j->end - j->pos < 6 || hex4(j->s + j->pos + 2, &cp) != 0)
			return json_scan_fail(j, "invalid \\u escape in a string");
		j->pos += 6;
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return json_scan_fail(j, "lone UTF-16 surrogate in a string");
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (j->end - j->pos < 6 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u' ||
			    hex4(j->s + j->pos + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
				return json_scan_fail(j, "lone UTF-16 surrogate in a string");
			j->pos += 6;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		}
		if (cp == 0)
			return json_scan_fail(j, "\\u0000 in a string is not supported");
		char u[4];
		size_t n;
		if (cp < 0x80) {
			u[0] = (char)cp;
			n = 1;
		} else if (cp < 0x800) {
			u[0] = (char)(0xC0 | (cp >> 6));
			u[1] = (char)(0x80 | (cp & 0x3F));
			n = 2;
		} else if (cp < 0x10000) {
			u[0] = (char)(0xE0 | (cp >> 12));
			u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
			u[2] = (char)(0x80 | (cp & 0x3F));
			n = 3;
		} else {
			u[0] = (char)(0xF0 | (cp >> 18));
			u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
			u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
			u[3] = (char)(0x80 | (cp & 0x3F));
			n = 4;
		}
		if (str_append(j, u, n) != JSON_SCAN_OK)
			return JSON_SCAN_NOMEM;
	}
}

/* ---- numbers and literals ----------------------------------------------- */

enum json_scan_res json_scan_number(struct json_scan *j, double *v)
{
	size_t used;
	enum decimal_res d = (j->opts & JSON_SCAN_NUMBERS_STRTOD)
	                             ? decimal_parse_strtod(j->s + j->pos, j->end - j->pos, &used, v)
	                             : decimal_parse(j->s + j->pos, j->end - j->pos, &used, v);
	switch (d) {
	case DECIMAL_OK:
		j->pos += used;
		return JSON_SCAN_OK;
	case DECIMAL_SYNTAX:
		j->pos += used;
		return json_scan_fail(j, "invalid number");
	case DECIMAL_RANGE:
		return json_scan_fail(j, "number out of the range of a double");
	case DECIMAL_LOCALE:
		return json_scan_fail(j, "number not understood (is LC_NUMERIC \"C\"?)");
	case DECIMAL_NOMEM:
		break;
	}
	return JSON_SCAN_NOMEM;
}

static enum json_scan_res read_literal(struct json_scan *j, const char *word)
{
	size_t n = strlen(word);
	if (j->end - j->pos < n || memcmp(j->s + j->pos, word, n) != 0)
		return json_scan_fail(j, "invalid literal");
	j->pos += n;
	return JSON_SCAN_OK;
}

/* Reads a scalar (string, number, true, false, null) at pos. */
static enum json_scan_res read_scalar(struct json_scan *j)
{
	double v;
	int c = json_scan_peek(j);
	switch (c) {
	case '"': return json_scan_string(j);
	case 't': return read_literal(j, "true");
	case 'f': return read_literal(j, "false");
	case 'n': return read_literal(j, "null");
	case '-': return json_scan_number(j, &v);
	default:
		if (c >= '0' && c <= '9')
			return json_scan_number(j, &v);
		return json_scan_fail(j, "expected a value");
	}
}

/* ---- any value ---------------------------------------------------------- */

/* After a '{' or a ',' in an object: the key string and the ':'. */
static enum json_scan_res read_key(struct json_scan *j)
{
	json_scan_space(j);
	if (json_scan_peek(j) != '"')
		return json_scan_fail(j, "expected a key string");
	enum json_scan_res rc = json_scan_string(j);
	if (rc == JSON_SCAN_OK)
		rc = json_scan_colon(j);
	return rc;
}

enum json_scan_res json_scan_skip(struct json_scan *j, size_t depth)
{
	size_t top = 0;
	enum json_scan_res rc;
	for (;;) {
		/* A value starts here. */
		json_scan_space(j);
		int c = json_scan_peek(j);
		if (c == '[' || c == '{') {
			if (depth + top + 1 > j->max_depth)
				return JSON_SCAN_DEPTH;
			if (top == j->stack_cap) {
				size_t cap = j->stack_cap == 0 ? 16 : j->stack_cap * 2;
				char *stack = realloc(j->stack, cap);
				if (stack == NULL)
					return JSON_SCAN_NOMEM;
				j->stack = stack;
				j->stack_cap = cap;
			}
			j->stack[top++] = (char)c;
			j->pos++;
			json_scan_space(j);
			if (json_scan_peek(j) == (c == '[' ? ']' : '}')) {
				j->pos++;
				top--;
			} else if (c == '{') {
				rc = read_key(j);
				if (rc != JSON_SCAN_OK)
					return rc;
				continue;
			} else {
				continue;
			}
		} else {
			rc = read_scalar(j);
			if (rc != JSON_SCAN_OK)
				return rc;
		}
		/* A value ended: close containers or go to the next element. */
		for (;;) {
			if (top == 0)
				return JSON_SCAN_OK;
			json_scan_space(j);
			c = json_scan_peek(j);
			char open = j->stack[top - 1];
			if (c == ',') {
				j->pos++;
				if (open == '{') {
					rc = read_key(j);
					if (rc != JSON_SCAN_OK)
						return rc;
				}
				break;
			}
			if ((open == '[' && c == ']') || (open == '{' && c == '}')) {
				j->pos++;
				top--;
				continue;
			}
			return json_scan_fail(j, open == '[' ? "expected ',' or ']'"
			                                     : "expected ',' or '}'");
		}
	}
}

int json_scan_depth_ok(const char *s, size_t len, size_t max)
{
	size_t depth = 0;
	int in_str = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++; /* the escaped byte; past len, the loop ends */
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 0;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return 1;
}

/* ---- cutting a top-level array ------------------------------------------ */

static int cuts_push(struct json_cuts *c, size_t pos)
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

/* The bytes json_scan_cut() acts on outside strings; it skips every other byte. */
static const unsigned char CUT_STOP[256] = {
	['"'] = 1, ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1, [','] = 1,
};

/*
 * Position of the '"' that closes the JSON string whose text starts at s[i]
 * (just after the opening quote), or len when the text ends first. A quote
 * closes the string when an even number of backslashes precedes it (within
 * the string): exactly what reading escapes forward (a backslash takes the
 * next byte with it) decides.
 */
static size_t string_end(const char *s, size_t i, size_t len)
{
	const size_t start = i;
	for (;;) {
		const char *q = memchr(s + i, '"', len - i);
		if (q == NULL)
			return len;
		size_t at = (size_t)(q - s), k = at;
		while (k > start && s[k - 1] == '\\')
			k--;
		if ((at - k) % 2 == 0)
			return at;
		i = at + 1;
	}
}

enum json_cut_res json_scan_cut(const char *s, size_t len, size_t max_depth, size_t max_elems,
                                struct json_cuts *cuts, size_t *at)
{
	size_t i = 0;
	while (i < len && json_scan_is_space(s[i]))
		i++;
	if (i == len)
		return JSON_CUT_EMPTY;
	if (s[i] != '[') {
		*at = i;
		return JSON_CUT_NOT_ARRAY;
	}
	if (cuts_push(cuts, i) != 0)
		return JSON_CUT_NOMEM;
	/* The last byte the scan acts on bounds the skipping loop (normally the final ']'). */
	size_t last = len - 1;
	while (last > i && !CUT_STOP[(unsigned char)s[last]])
		last--;
	size_t level = 1, depth = 1;
	for (i++; i < len; i++) {
		if (i > last) {
			i = len; /* nothing more to act on: the text ends inside the array */
			break;
		}
		while (!CUT_STOP[(unsigned char)s[i]])
			i++;
		char c = s[i];
		if (c == '"') {
			i = string_end(s, i + 1, len);
			if (i >= len)
				break;
		} else if (c == '[' || c == '{') {
			level++;
			if (level > depth)
				depth = level;
			if (depth > max_depth) {
				*at = i;
				return JSON_CUT_DEPTH;
			}
		} else if (level == 1 && c == ']') {
			break;
		} else if (level == 1 && c == ',') {
			if (cuts->n >= max_elems) {
				*at = i;
				return JSON_CUT_TOO_MANY;
			}
			if (cuts_push(cuts, i) != 0)
				return JSON_CUT_NOMEM;
		} else if (level > 1 && (c == ']' || c == '}')) {
			level--; /* a mismatched pair is left for the element reader to refuse */
		}
	}
	if (i >= len)
		return JSON_CUT_TRUNCATED;
	size_t end = i;
	for (i++; i < len && json_scan_is_space(s[i]); i++)
		;
	if (i < len) {
		*at = i;
		return JSON_CUT_TRAILING;
	}
	if (cuts_push(cuts, end) != 0)
		return JSON_CUT_NOMEM;
	cuts->n--; /* the closing ']' ends the last element, it does not begin one */
	if (cuts->n == 1) {
		size_t k = cuts->cut[0] + 1;
		while (k < end && json_scan_is_space(s[k]))
			k++;
		if (k == end)
			cuts->n = 0;
	}
	return JSON_CUT_OK;
}
