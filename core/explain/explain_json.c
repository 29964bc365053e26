/*
 * explain_json: the depth-checked Jansson load of core/explain/ (see
 * explain_json.h). Not a JSON parser of its own: the depth pre-check is
 * json_scan_depth_ok() (rb/input/json_scan.h); Jansson judges the text.
 */
#include "explain_json.h"

#include "rb/input/json_scan.h"

enum rb_code explain_json_load(const char *text, size_t len, size_t max_depth, const char *what,
                               json_t **root, struct rb_err *err)
{
	*root = NULL;
	if (!json_scan_depth_ok(text, len, max_depth))
		return rb_err_set(err, RB_E_TOO_LARGE, "%s: JSON nested deeper than %zu levels", what,
		                  max_depth);
	json_error_t jerr;
	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*root == NULL)
		return rb_err_set(err, RB_E_INPUT, "%s: not JSON: %s (line %d, column %d)", what,
		                  jerr.text, jerr.line, jerr.column);
	return RB_OK;
}
