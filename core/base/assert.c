/* assert: the failure path of RB_ASSERT (rb/base/assert.h). Not a handler: it only reports and aborts. */
#include "rb/base/assert.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void rb_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	/* One fprintf: the line reaches stderr whole even when it is unbuffered. */
	fprintf(stderr, "rb-aioutliers: %s:%d: %s: assertion failed: %s\n", file, line, func, expr);
	fflush(stderr);
	abort();
}
