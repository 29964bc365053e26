/*
 * assert: RB_ASSERT, the always-on check for an invariant whose violation
 * would corrupt an answer (a wrong index into a table, a count past a
 * capacity, a broken contract between two modules). It is evaluated in every
 * build, NDEBUG or not; on failure it writes one line
 *   rb-aioutliers: core/model/infer.c:64: infer_new: assertion failed: out != NULL
 * to stderr and aborts (a worker that aborts is replaced by the master; the
 * request gets the web server's error, never a wrong answer).
 *
 * Plain assert() stays for checks that are too costly for release builds (in
 * inner loops); the Debug build of the suite (tests/run.sh --debug) runs them.
 * Neither is for bad input: that is an enum rb_code (rb/base/error.h).
 */
#ifndef RB_BASE_ASSERT_H
#define RB_BASE_ASSERT_H

#define RB_ASSERT(cond) \
	((cond) ? (void)0 : rb_assert_fail(#cond, __FILE__, __LINE__, __func__))

/* Writes the failure line and calls abort(); never returns. */
_Noreturn void rb_assert_fail(const char *expr, const char *file, int line, const char *func);

#endif
