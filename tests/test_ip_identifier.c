/*
 * test_ip_identifier: CONTRACT §7 on crafted payloads (ip_identifier.h): the
 * answer is an object with one entry per outlier in order; a steady big IP is
 * not blamed, a small one that jumped is; instants match by time, not text;
 * an IP missing at some instants; an outlier at an unknown instant; one
 * instant only; and the shapes refused with 400 (413 past a cap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/explain/ip_identifier.h"
#include "testutil.h"

static char buf[1 << 16];

/* A payload: big 10.0.0.1 (1000 +- 40), small 10.0.0.2 (10 +- 1) jumping at hour 20; hour 22 missing for .2. */
static const char *payload(void)
{
	size_t n = 0;
	n += (size_t)snprintf(buf + n, sizeof buf - n,
	                      "{\"outliers\":[{\"timestamp\":\"2023-09-21T20:00:00Z\"},"
	                      "{\"timestamp\":\"2023-09-21T05:00:00.000+00:00\"},"
	                      "{\"timestamp\":\"2023-01-01T00:00:00Z\"}],\"all_ips_data\":{");
	for (int ip = 1; ip <= 2; ip++) {
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"10.0.0.%d\":[", ip == 1 ? "" : ",", ip);
		int first = 1;
		for (int h = 0; h < 24; h++) {
			double v = ip == 1 ? 1000 + 40 * ((h * 7) % 5 - 2) : 10 + (h % 3 - 1);
			if (h == 20)
				v = ip == 1 ? 1070 : 100;
			if (ip == 2 && h == 22)
				continue;
			n += (size_t)snprintf(buf + n, sizeof buf - n,
			                      "%s{\"timestamp\":\"2023-09-21T%02d:00:00.000Z\","
			                      "\"result\":{\"bytes\":%g}}",
			                      first ? "" : ",", h, v);
			first = 0;
		}
		n += (size_t)snprintf(buf + n, sizeof buf - n, "]");
	}
	snprintf(buf + n, sizeof buf - n, "}}");
	return buf;
}

static void want(const char *in, const char *expect)
{
	struct rb_err err = {0};
	char *out = NULL;
	CHECKF(ip_identifier_run(in, strlen(in), &out, &err) == RB_OK, "%s", err.msg);
	CHECKF(strcmp(out, expect) == 0, "got %s", out);
	free(out);
}

static void refused(const char *in, enum rb_code code, const char *part)
{
	struct rb_err err = {0};
	char *out = NULL;
	CHECKF(ip_identifier_run(in, strlen(in), &out, &err) == code, "%s: %s", in, err.msg);
	CHECK(out == NULL);
	CHECKF(strstr(err.msg, part) != NULL, "%s: %s", in, err.msg);
}

int main(void)
{
	want(payload(), "{\"ips\":[{\"timestamp\":\"2023-09-21T20:00:00Z\",\"caused_by\":[\"10.0.0.2\"]},"
	                "{\"timestamp\":\"2023-09-21T05:00:00.000+00:00\",\"caused_by\":[]},"
	                "{\"timestamp\":\"2023-01-01T00:00:00Z\",\"caused_by\":[]}]}");
	/* One instant only: who carries the total. */
	want("{\"outliers\":[{\"timestamp\":\"2023-09-21T00:00:00Z\"}],\"all_ips_data\":{"
	     "\"b\":[{\"timestamp\":\"2023-09-21T00:00:00Z\",\"result\":{\"bytes\":5}}],"
	     "\"a\":[{\"timestamp\":\"2023-09-21T00:00:00Z\",\"result\":{\"bytes\":95}}]}}",
	     "{\"ips\":[{\"timestamp\":\"2023-09-21T00:00:00Z\",\"caused_by\":[\"a\"]}]}");
	/* Empty. */
	want("{\"outliers\":[],\"all_ips_data\":{}}", "{\"ips\":[]}");
	want("{\"outliers\":[{\"timestamp\":\"2023-09-21T00:00:00Z\"}],\"all_ips_data\":{}}",
	     "{\"ips\":[{\"timestamp\":\"2023-09-21T00:00:00Z\",\"caused_by\":[]}]}");

	refused("", RB_E_INPUT, "not JSON");
	refused("[]", RB_E_INPUT, "\"outliers\" array");
	refused("{\"outliers\":{},\"all_ips_data\":{}}", RB_E_INPUT, "\"outliers\" array");
	refused("{\"outliers\":[],\"all_ips_data\":{},\"outliers\":[]}", RB_E_INPUT, "duplicate");
	refused("{\"outliers\":[1],\"all_ips_data\":{}}", RB_E_INPUT, "outliers[0]");
	refused("{\"outliers\":[{\"timestamp\":\"yesterday\"}],\"all_ips_data\":{}}", RB_E_INPUT,
	        "outliers[0].timestamp");
	refused("{\"outliers\":[],\"all_ips_data\":{\"a\":{}}}", RB_E_INPUT, "each value an array");
	refused("{\"outliers\":[],\"all_ips_data\":{\"\":[]}}", RB_E_INPUT, "each key");
	refused("{\"outliers\":[],\"all_ips_data\":{\"a\":[{\"timestamp\":\"2023-09-21T00:00Z\"}]}}",
	        RB_E_INPUT, "a[0] needs a number result.bytes");
	refused("{\"outliers\":[],\"all_ips_data\":{\"a\":[{\"timestamp\":\"2023-09-21T00:00Z\","
	        "\"result\":{\"bytes\":\"7\"}}]}}",
	        RB_E_INPUT, "result.bytes");
	refused("{\"outliers\":[],\"all_ips_data\":{\"a\":[{\"timestamp\":\"2023-09-21T00:00Z\","
	        "\"result\":{\"bytes\":7}},{\"timestamp\":\"2023-09-21T00:00:00.000Z\","
	        "\"result\":{\"bytes\":7}}]}}",
	        RB_E_INPUT, "same instant");
	char deep[64];
	memset(deep, '[', sizeof deep - 1);
	deep[sizeof deep - 1] = '\0';
	refused(deep, RB_E_TOO_LARGE, "deeper");
	return 0;
}
