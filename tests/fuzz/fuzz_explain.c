/*
 * fuzz_explain: the two readers of "who caused it" on arbitrary bytes. The
 * first byte picks: even -> ip_identifier_run (a payload), odd ->
 * explain_query_answer (a Druid groupBy answer for a fixed window: ip, bytes,
 * PT1M, 60 history rows from 2023-09-21T09:00Z). Checked: no crash or
 * sanitizer report; a failure is one of the documented codes with a message
 * and no answer; a success is a JSON object (ip_identifier: "ips" an array
 * as long as the payload's outliers; explain: "values" an array whose
 * contributions are finite and in non-increasing order).
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/explain/explain_query.h"
#include "rb/explain/ip_identifier.h"

#define REQUIRE(c)                                                                               \
	do {                                                                                     \
		if (!(c))                                                                        \
			abort();                                                                 \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct rb_err err = {0};
	char *out = NULL;
	if (data[0] % 2 == 0) {
		enum rb_code rc = ip_identifier_run(text, len, &out, &err);
		if (rc != RB_OK) {
			REQUIRE(rc == RB_E_INPUT || rc == RB_E_TOO_LARGE || rc == RB_E_NOMEM);
			REQUIRE(out == NULL && err.msg[0] != '\0');
			return 0;
		}
		json_t *in = json_loadb(text, len, 0, NULL);
		json_t *ans = json_loads(out, 0, NULL);
		REQUIRE(in != NULL && ans != NULL);
		REQUIRE(json_array_size(json_object_get(ans, "ips")) ==
		        json_array_size(json_object_get(in, "outliers")));
		json_decref(in);
		json_decref(ans);
		free(out);
		return 0;
	}
	struct explain_window w = {1695286800000LL, 60000, 60, "ip", "bytes"};
	enum rb_code rc = explain_query_answer(text, len, &w, &out, &err);
	if (rc != RB_OK) {
		REQUIRE(rc == RB_E_UPSTREAM || rc == RB_E_TOO_LARGE || rc == RB_E_NOMEM);
		REQUIRE(out == NULL && err.msg[0] != '\0');
		return 0;
	}
	json_t *ans = json_loads(out, 0, NULL);
	REQUIRE(ans != NULL);
	json_t *vals = json_object_get(ans, "values");
	REQUIRE(json_is_array(vals));
	double prev = INFINITY;
	size_t i;
	json_t *v;
	json_array_foreach(vals, i, v) {
		double c = json_number_value(json_object_get(v, "contribution"));
		REQUIRE(isfinite(c) && c <= prev);
		prev = c;
	}
	json_decref(ans);
	free(out);
	return 0;
}
