/*
 * name_table: the lookup shared by every closed set of names (inference
 * paths, detectors, threshold rules, log levels and targets). Each set keeps
 * its own enum and its own NULL-terminated table of names in the module that
 * owns it (rb/model/infer.h, rb/detect/detector.h, ...); this is only the
 * search, so that each module's _parse is the table plus one call.
 */
#ifndef RB_BASE_NAME_TABLE_H
#define RB_BASE_NAME_TABLE_H

#include <stddef.h>

/*
 * The index of s[0..len) (not NUL-terminated, exact bytes, case-sensitive)
 * among names[0..count), or -1 when it is none of them or s is NULL.
 */
long name_table_find(const char *const *names, size_t count, const char *s, size_t len);

#endif
