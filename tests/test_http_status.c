/*
 * test_http_status: http_status_reason (include/rb/fcgi/http_status.h):
 * every status the daemon sends has its RFC 9110 phrase (501 was "Unknown"
 * before), the table is in code order (binary search), unregistered codes
 * get their class, out-of-range codes "Unknown".
 */
#include <string.h>

#include "rb/fcgi/http_status.h"
#include "testutil.h"

int main(void)
{
	static const struct {
		int code;
		const char *text;
	} sent[] = {
		{200, "OK"},
		{400, "Bad Request"},
		{404, "Not Found"},
		{405, "Method Not Allowed"},
		{413, "Content Too Large"},
		{500, "Internal Server Error"},
		{501, "Not Implemented"},
		{502, "Bad Gateway"},
		{503, "Service Unavailable"},
		{504, "Gateway Timeout"},
		{100, "Continue"},
		{505, "HTTP Version Not Supported"},
		{429, "Too Many Requests"},
	};
	for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++)
		CHECKF(strcmp(http_status_reason(sent[i].code), sent[i].text) == 0, "%d: %s",
		       sent[i].code, http_status_reason(sent[i].code));
	/* every registered code in 100..599 has a phrase of its own, not its class's */
	static const char *const classes[] = {"Informational", "Success", "Redirection",
	                                      "Client Error", "Server Error"};
	int registered = 0;
	for (int c = 100; c <= 599; c++) {
		const char *r = http_status_reason(c);
		CHECK(r != NULL && r[0] != '\0' && strcmp(r, "Unknown") != 0);
		if (strcmp(r, classes[c / 100 - 1]) != 0)
			registered++;
	}
	CHECKF(registered == 45, "%d registered codes found", registered);
	CHECK(strcmp(http_status_reason(299), "Success") == 0);
	CHECK(strcmp(http_status_reason(599), "Server Error") == 0);
	CHECK(strcmp(http_status_reason(99), "Unknown") == 0);
	CHECK(strcmp(http_status_reason(600), "Unknown") == 0);
	CHECK(strcmp(http_status_reason(-1), "Unknown") == 0);
	return 0;
}
