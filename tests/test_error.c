/* rb_error: every code has a message and the HTTP status CONTRACT §1 asks for. */
#include <string.h>

#include "rb/base/error.h"
#include "testutil.h"

int main(void)
{
	for (int c = 0; c < RB_CODE_COUNT; c++)
		CHECK(strlen(rb_strerror((enum rb_code)c)) > 0);
	CHECK(strcmp(rb_strerror((enum rb_code)999), "unknown error") == 0);
	CHECK(rb_http_status(RB_OK) == 200);
	CHECK(rb_http_status(RB_E_INPUT) == 400);
	CHECK(rb_http_status(RB_E_TOO_LARGE) == 413);
	CHECK(rb_http_status(RB_E_UPSTREAM) == 502);
	CHECK(rb_http_status(RB_E_TIMEOUT) == 504);
	CHECK(rb_http_status(RB_E_MODEL) == 500);

	struct rb_err err = {0};
	CHECK(rb_err_set(&err, RB_E_INPUT, "row %d: bad", 7) == RB_E_INPUT);
	CHECK(err.code == RB_E_INPUT && strcmp(err.msg, "row 7: bad") == 0);
	rb_err_prefix(&err, "data");
	CHECK(strcmp(err.msg, "data: row 7: bad") == 0);
	CHECK(rb_err_set(NULL, RB_E_NOMEM, "ignored") == RB_E_NOMEM);
	rb_err_prefix(NULL, "ignored");
	return 0;
}
