/* rb_error: error codes, their messages and HTTP statuses. See rb/base/error.h. */
#include "rb/base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *text;
	int http;
} code_table[RB_CODE_COUNT] = {
	[RB_OK] = {"success", 200},
	[RB_E_NOMEM] = {"out of memory", 500},
	[RB_E_INPUT] = {"bad input", 400},
	[RB_E_TOO_LARGE] = {"input too large", 413},
	[RB_E_NOT_FOUND] = {"not found", 404},
	[RB_E_METHOD] = {"method not allowed", 405},
	[RB_E_MODEL] = {"model file error", 500},
	[RB_E_CONFIG] = {"configuration error", 500},
	[RB_E_UPSTREAM] = {"Druid broker error", 502},
	[RB_E_TIMEOUT] = {"Druid broker timeout", 504},
	[RB_E_INTERNAL] = {"internal error", 500},
};

enum rb_code rb_err_set(struct rb_err *err, enum rb_code code, const char *fmt, ...)
{
	if (err == NULL)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

void rb_err_prefix(struct rb_err *err, const char *fmt, ...)
{
	if (err == NULL)
		return;
	char prefix[128], old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	size_t plen = strlen(prefix);
	if (plen + 2 >= sizeof err->msg)
		plen = sizeof err->msg - 3;
	memcpy(err->msg, prefix, plen);
	memcpy(err->msg + plen, ": ", 2);
	size_t room = sizeof err->msg - plen - 3;
	size_t olen = strnlen(old, room);
	memcpy(err->msg + plen + 2, old, olen);
	err->msg[plen + 2 + olen] = '\0';
}

const char *rb_strerror(enum rb_code code)
{
	if ((unsigned)code >= RB_CODE_COUNT)
		return "unknown error";
	return code_table[code].text;
}

int rb_http_status(enum rb_code code)
{
	if ((unsigned)code >= RB_CODE_COUNT)
		return 500;
	return code_table[code].http;
}
