/*
 * json_scan: a strict JSON reader that builds no tree. Two tools over one
 * JSON text held in memory (it need not be NUL-terminated):
 *   - a cursor (struct json_scan) over a byte range of the text that reads
 *     one thing at a time at its position: a string (decoded), a number
 *     (converted), a ':' , or any value checked and skipped; the caller walks
 *     the structure it expects and decides what the values mean;
 *   - json_scan_cut(), one pass over the bytes outside strings that checks a
 *     depth cap and cuts a top-level array into its elements, before any of
 *     them is read; json_scan_depth_ok(), the depth check alone, for a text
 *     that a recursive parser (Jansson) reads next.
 * core/input/series.c reads Druid answers with them; Druid row semantics live
 * there, not here.
 *
 * What it accepts: RFC 8259 JSON. UTF-8 is checked in strings (no overlong
 * forms, no encoded surrogates, nothing past U+10FFFF, no stray continuation
 * bytes) and refused when ill-formed, never replaced; escapes are decoded,
 * \uXXXX surrogate pairs joined, a lone surrogate refused; control
 * characters (bytes below 0x20, NUL included) in strings are refused; numbers
 * follow the JSON grammar ("01", "1.", ".5", "+1", "0x10", "NaN",
 * "Infinity" are refused) and are converted by core/input/decimal.c exactly
 * as strtod() does in the "C" locale; a magnitude past the double range
 * ("1e400") is refused, an underflow gives 0 or a subnormal. Whitespace is the
 * four JSON bytes (space, tab, LF, CR); nothing else (no BOM, no comments).
 *
 * Caps: nesting depth, max_depth, counted from the top of the text (the
 * top-level container is level 1): json_scan_skip() and json_scan_cut()
 * refuse a '[' or '{' that opens level max_depth + 1 (JSON_SCAN_DEPTH /
 * JSON_CUT_DEPTH); containers the caller opens itself it checks itself.
 * No recursion: a nesting of a million levels costs a refusal, not the
 * stack. Sizes: nothing is capped here beyond the input, which the caller
 * caps: the decoded string is never longer than its text, the skip stack
 * holds at most max_depth bytes, the cuts at most max_elems + 1 positions.
 * Memory is one string buffer and one stack per cursor, reused, never
 * anything per value.
 *
 * What it does not do: build a tree; look for duplicate keys (the caller
 * does, for the objects it walks); know where the top level is (the caller
 * says where a value starts and ends); accept \u0000 (refused: decoded
 * strings are C strings); accept NaN / Infinity, comments, trailing commas
 * or single quotes; report line and column itself (positions are byte
 * offsets into the whole text; json_scan_locate() turns one into a line and
 * column for a message). It never reads a byte at or past the cursor's end
 * (or past len for json_scan_cut()).
 */
#ifndef RB_INPUT_JSON_SCAN_H
#define RB_INPUT_JSON_SCAN_H

#include <stddef.h>
#include <string.h>

/* Outcome of a cursor step. */
enum json_scan_res {
	JSON_SCAN_OK = 0,
	JSON_SCAN_SYNTAX, /* not JSON: why says what (fixed English text), pos where */
	JSON_SCAN_DEPTH,  /* a container would open level max_depth + 1 */
	JSON_SCAN_NOMEM,
};

/* Option of the cursor (opts, or'ed). */
enum json_scan_opt {
	JSON_SCAN_NUMBERS_STRTOD = 1, /* every number through strtod() instead of the exact fast
	                               * path of rb/input/decimal.h (same values; for tests and
	                               * benchmarks) */
};

/*
 * A cursor. Its fields are visible so that the hot steps below can be
 * inline; the caller reads pos, str and why, and may move pos and end to
 * read another range of the same text (the buffers are kept). Set it up with
 * json_scan_init(), release it with json_scan_release().
 */
struct json_scan {
	const char *s;     /* the whole text (positions are absolute); borrowed */
	size_t pos, end;   /* next byte, end of the range being read (s[end] is never read) */
	char *str;         /* last string read by json_scan_string(), decoded, NUL-terminated
	                    * (no NUL inside); owned, reused by the next string */
	size_t str_len, str_cap;
	char *stack;       /* json_scan_skip(): open containers, '[' or '{'; owned */
	size_t stack_cap;
	size_t max_depth;  /* nesting cap (see the top of this file) */
	unsigned opts;     /* enum json_scan_opt */
	const char *why;   /* the reason of the last JSON_SCAN_SYNTAX, a static string */
};

/* A cursor over s[pos .. end) with nesting cap max_depth; no allocation yet. */
void json_scan_init(struct json_scan *j, const char *s, size_t pos, size_t end, size_t max_depth,
                    unsigned opts);

/* Frees the cursor's buffers (str, stack); the cursor may be initialized again. */
void json_scan_release(struct json_scan *j);

/*
 * Reads the string at pos (a '"') into str / str_len and moves past its
 * closing quote. JSON_SCAN_SYNTAX when it is not a well-formed JSON string
 * within the range, or holds \u0000.
 */
enum json_scan_res json_scan_string(struct json_scan *j);

/*
 * Reads the number at pos (a '-' or a digit) into *v and moves past it.
 * JSON_SCAN_SYNTAX for a bad number or one past the double range (why says
 * which), and, with the strtod path only, when the locale is not "C"
 * (refused, never misread).
 */
enum json_scan_res json_scan_number(struct json_scan *j, double *v);

/*
 * Checks and skips any JSON value at pos (after whitespace), nested or not,
 * without recursion. depth is the nesting level of the value's parent (0 for
 * a value at the top of the text); a container of the value opening past
 * max_depth is JSON_SCAN_DEPTH. Duplicate keys are not looked for.
 */
enum json_scan_res json_scan_skip(struct json_scan *j, size_t depth);

/* Sets why and returns JSON_SCAN_SYNTAX: for the caller's own syntax errors at pos. */
static inline enum json_scan_res json_scan_fail(struct json_scan *j, const char *why)
{
	j->why = why;
	return JSON_SCAN_SYNTAX;
}

/* 1 for the four JSON whitespace bytes. */
static inline int json_scan_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Moves pos past whitespace. */
static inline void json_scan_space(struct json_scan *j)
{
	/* every JSON space is <= ' ': most calls (compact text) stop at the first test */
	while (j->pos < j->end && (unsigned char)j->s[j->pos] <= ' ' &&
	       json_scan_is_space(j->s[j->pos]))
		j->pos++;
}

/* The byte at pos (0 .. 255), or -1 at the end of the range. */
static inline int json_scan_peek(const struct json_scan *j)
{
	return j->pos < j->end ? (unsigned char)j->s[j->pos] : -1;
}

/* After an object member's key: the ':' and the whitespace around it. */
static inline enum json_scan_res json_scan_colon(struct json_scan *j)
{
	json_scan_space(j);
	if (json_scan_peek(j) != ':')
		return json_scan_fail(j, "expected ':'");
	j->pos++;
	json_scan_space(j);
	return JSON_SCAN_OK;
}

/*
 * 1 when the n bytes at pos are exactly bytes (for instance a key written
 * without escapes, quotes included), which are then consumed; else 0 and
 * nothing moves. It checks nothing else: only for a text whose meaning the
 * bytes fix alone.
 */
static inline int json_scan_raw(struct json_scan *j, const char *bytes, size_t n)
{
	if (j->end - j->pos < n || memcmp(j->s + j->pos, bytes, n) != 0)
		return 0;
	j->pos += n;
	return 1;
}

/*
 * 1 when the string at pos (a '"') is plain: bytes 0x20 to 0x7F other than
 * '"' and '\\' up to its closing quote, so that its text is its value. Then
 * *start and *n say where its bytes are in s (not copied) and pos moves past
 * it. Else 0 and nothing moves (json_scan_string() reads it).
 */
static inline int json_scan_plain_string(struct json_scan *j, size_t *start, size_t *n)
{
	size_t b = j->pos + 1, k = b;
	while (k < j->end) {
		unsigned char c = (unsigned char)j->s[k];
		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
			break;
		k++;
	}
	if (k >= j->end || j->s[k] != '"')
		return 0;
	*start = b;
	*n = k - b;
	j->pos = k + 1;
	return 1;
}

/* Line and column (both from 1) of byte pos of s, for messages. */
void json_scan_locate(const char *s, size_t pos, size_t *line, size_t *col);

/*
 * 1 when no '[' or '{' of the len bytes of s opens a level past max, else 0:
 * the cheap nesting pre-check before a recursive parser (Jansson) sees the
 * text. It counts the brackets outside strings: a '"' opens a string, a '\\'
 * inside one takes the next byte with it (so \" does not close it), the next
 * other '"' closes it. A ']' or '}' closes a level (whichever opened it; one
 * with nothing open is ignored), so "[}", unbalanced text and text that ends
 * inside a string pass: it checks nothing but the depth and leaves the syntax
 * to the parser. Empty text is 1. Never reads s[len].
 */
int json_scan_depth_ok(const char *s, size_t len, size_t max);

/* ---- cutting a top-level array ----------------------------------------- */

/*
 * Where the elements of a top-level array are: element k (k < n) is the text
 * strictly between cut[k] and cut[k + 1].
 */
struct json_cuts {
	size_t *cut; /* the '[' or ',' before each element, then the closing ']' (cut[n]); an
	              * empty array has n = 0 and cut[0] is its '['. malloc'd, the caller
	              * frees it (free(cut)), also on failure */
	size_t n;    /* elements (on failure: elements begun so far) */
	size_t cap;
};

/* Outcome of json_scan_cut(). */
enum json_cut_res {
	JSON_CUT_OK = 0,
	JSON_CUT_EMPTY,     /* no JSON text: empty or only whitespace */
	JSON_CUT_NOT_ARRAY, /* *at is the first byte of the text, not '[' */
	JSON_CUT_DEPTH,     /* a '[' or '{' opens level max_depth + 1 (*at is where) */
	JSON_CUT_TOO_MANY,  /* a ',' would begin element max_elems + 1 (*at is where) */
	JSON_CUT_TRUNCATED, /* the text ends inside the array (cuts->n elements begun) */
	JSON_CUT_TRAILING,  /* *at is the first byte after the array that is not whitespace */
	JSON_CUT_NOMEM,
};

/*
 * One pass over the len bytes of s, outside strings: checks that the text is
 * '[' ... ']' with only whitespace around it, that nothing is nested deeper
 * than max_depth, and cuts it at the ','s directly inside the array into
 * cuts (zeroed by the caller). It checks nothing else: it is for reading
 * each element afterwards within its bounds (json_scan_skip or the caller's
 * own walk), and since an array is exactly '[' value (',' value)* ']', the
 * text is valid JSON when every element is one value. "[]" and "[ ]" have no
 * element; "[,]" has two, both empty (for the element reader to refuse).
 * Brackets are only counted: a mismatched pair is left for the element
 * reader too. *at is set as the outcomes above say.
 */
enum json_cut_res json_scan_cut(const char *s, size_t len, size_t max_depth, size_t max_elems,
                                struct json_cuts *cuts, size_t *at);

#endif
