/*
 * explain_json: the depth-checked Jansson load of core/explain/ (see
 * explain_json.h). Not a JSON parser of its own: the depth scan only skips
 * strings and counts brackets; Jansson judges the text.
 */
#include "explain_json.h"

/* 1 when no '[' or '{' outside strings opens a level past max. */
static int depth_ok(const char *s, size_t len, size_t max)
{
	size_t depth = 0;
	int in_str = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
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

enum rb_code explain_json_load(const char *text, size_t len, size_t max_depth, const char *what,
                               json_t **root, struct rb_err *err)
{
	*root = NULL;
	if (!depth_ok(text, len, max_depth))
		return rb_err_set(err, RB_E_TOO_LARGE, "%s: JSON nested deeper than %zu levels", what,
		                  max_depth);
	json_error_t jerr;
	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*root == NULL)
		return rb_err_set(err, RB_E_INPUT, "%s: not JSON: %s (line %d, column %d)", what,
		                  jerr.text, jerr.line, jerr.column);
	return RB_OK;
}
