/*
 * explain_json: private to core/explain/. JSON text to a Jansson tree, with
 * the nesting checked before Jansson recurses (no deep recursion on hostile
 * input) and duplicate keys refused.
 */
#ifndef RB_EXPLAIN_JSON_H
#define RB_EXPLAIN_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "rb/base/error.h"

/*
 * *root (new) from len bytes of text; what names the text in messages.
 * RB_E_TOO_LARGE past max_depth levels, RB_E_INPUT for bad JSON.
 */
enum rb_code explain_json_load(const char *text, size_t len, size_t max_depth, const char *what,
                               json_t **root, struct rb_err *err);

#endif
