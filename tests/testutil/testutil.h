/*
 * Test helpers shared by tests/test_*.c: failing assertions that name file and
 * line, file reading, the shared/ folder and its upstream models, and the
 * tests' one random-number generator. A failed CHECK exits 1 at once; a test never prints a failure and
 * returns 0.
 */
#ifndef RB_TESTUTIL_H
#define RB_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
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

/*
 * Absolute path of a file or folder under shared/ (RB_SHARED_DIR): static
 * buffer, valid until the next call. When RB_SHARED_DIR is unset or the path
 * does not exist, prints "test needs the shared/ folder (RB_SHARED_DIR=...):
 * missing <path>" on stderr and exits 1 (a failure, not a skip).
 */
const char *tu_shared(const char *rel);
/* Absolute path of a file under the source tree (RB_SOURCE_DIR): same ownership as tu_shared. */
const char *tu_source(const char *rel);
/* Whole file, NUL-terminated, malloc'd (caller frees); *len_out gets the length. Exits on failure. */
char *tu_read_file(const char *path, size_t *len_out);

struct model;
/*
 * The set-up of the tests that run an upstream model: loads shared/upstream/<name>.keras with
 * shared/upstream/<name>.ini (model_load_files, model name name). Returns a new model, which
 * the caller frees with model_free(); when a file is missing or the loader refuses, prints why
 * and exits 1 (a failure, never a skip).
 */
struct model *tu_load_upstream_model(const char *name);

/*
 * The tests' random numbers: xorshift64 (shifts 13, 7, 17; Marsaglia 2003) on a
 * state the test seeds with a constant (never 0), so every run and every
 * failure repeats. Tests compare against values recorded from these exact
 * sequences: the generator never changes. Not for anything but tests.
 */
struct tu_rng {
	uint64_t s;
};

/* Advances r and returns its new state (64 bits, never 0). */
static inline uint64_t tu_rng_next(struct tu_rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

/* A uniform double in [0, 1): the top 53 bits of the next value. */
static inline double tu_rng_unit(struct tu_rng *r)
{
	return (double)(tu_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
