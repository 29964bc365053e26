/*
 * Test helpers shared by tests/test_*.c: failing assertions that name file and
 * line, file reading, and the shared/ folder. A failed CHECK exits 1 at once;
 * a test never prints a failure and returns 0.
 */
#ifndef RB_TESTUTIL_H
#define RB_TESTUTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,   \
			        __LINE__, #cond);                                \
			exit(1);                                                 \
		}                                                                \
	} while (0)

#define CHECKF(cond, ...)                                                        \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__,   \
			        __LINE__, #cond);                                \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
			exit(1);                                                 \
		}                                                                \
	} while (0)

/* Absolute path of a file under shared/ (RB_SHARED_DIR): static buffer, valid until the next call. */
const char *tu_shared(const char *rel);
/* Absolute path of a file under the source tree (RB_SOURCE_DIR): same ownership as tu_shared. */
const char *tu_source(const char *rel);
/* Whole file, NUL-terminated, malloc'd (caller frees); *len_out gets the length. Exits on failure. */
char *tu_read_file(const char *path, size_t *len_out);

#endif
