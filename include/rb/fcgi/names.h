/*
 * names: the syntax of the names the config file and a request carry, and the
 * text that lists a closed set of names in a message. Shared by config.c and
 * request_fields.c so that neither includes the other.
 *
 * A model name is the model registry's rule (model_name_valid in
 * rb/model/model.h), here for text with a length; a metric name is the same
 * set of characters, a leading dot allowed. Not the lookups (registry_find,
 * series_col) and not the closed sets themselves: each lives in the module
 * that owns it (infer_path_names, detector_kind_names, log_level_names, ...).
 */
#ifndef RB_NAMES_H
#define RB_NAMES_H

#include <stddef.h>

/* Longest model or metric name, in bytes (a name fits in char[NAMES_MAX + 1]). */
#define NAMES_MAX 63

/* 1 when s[0..len) is a model name: 1..63 bytes of [A-Za-z0-9._-], not starting with '.'. */
int names_model_ok(const char *s, size_t len);
/* 1 when s[0..len) is a metric name: 1..63 bytes of [A-Za-z0-9._-]. */
int names_metric_ok(const char *s, size_t len);

/*
 * Writes the names of a NULL-terminated table as a list for people,
 * "a", "a or b", "a, b or c", into buf[cap] (cut to fit, always terminated).
 */
void names_list(const char *const *names, char *buf, size_t cap);

#endif
