/*
 * names: the model and metric name rules of the config and the request
 * fields (fcgi/names.c), the model rule equal to the model registry's
 * (model_name_valid) on every short text over a mixed alphabet, and the list
 * text of a name table.
 */
#include <string.h>

#include "rb/fcgi/names.h"
#include "rb/model/model.h"
#include "testutil.h"

static void rules(void)
{
	CHECK(names_model_ok("traffic", 7));
	CHECK(names_model_ok("a", 1));
	CHECK(names_model_ok("A-Z_a.z-0.9", 11));
	CHECK(names_model_ok("a..b", 4));
	CHECK(!names_model_ok("", 0));
	CHECK(!names_model_ok(".", 1));
	CHECK(!names_model_ok("..", 2));
	CHECK(!names_model_ok(".x", 2));
	CHECK(!names_model_ok("a/b", 3));
	CHECK(!names_model_ok("a\\b", 3));
	CHECK(!names_model_ok("a\0b", 3));
	CHECK(!names_model_ok("a\0", 2));
	CHECK(!names_model_ok("a b", 3));
	CHECK(!names_model_ok("caf\xc3\xa9", 5));
	char n64[65];
	memset(n64, 'm', 64);
	n64[64] = 0;
	CHECK(names_model_ok(n64, 63) && !names_model_ok(n64, 64));
	CHECK(names_metric_ok(".x", 2) && names_metric_ok("bytes", 5));
	CHECK(!names_metric_ok("", 0) && !names_metric_ok("a:b", 3));
	CHECK(!names_metric_ok("a\0", 2));
	CHECK(names_metric_ok(n64, 63) && !names_metric_ok(n64, 64));
}

/* Every text of 1 to 3 bytes over an alphabet of good, bad and edge bytes. */
static void same_as_registry(void)
{
	static const char abc[] = {'a', 'Z', '0', '.', '_', '-', '/', ' ', ':', '\\', '\x80', '\xff'};
	enum { N = sizeof abc };
	size_t checked = 0;
	for (size_t len = 1; len <= 3; len++) {
		size_t total = 1;
		for (size_t i = 0; i < len; i++)
			total *= N;
		for (size_t code = 0; code < total; code++) {
			char s[4] = {0};
			size_t c = code;
			for (size_t i = 0; i < len; i++, c /= N)
				s[i] = abc[c % N];
			CHECKF(names_model_ok(s, len) == model_name_valid(s), "'%s'", s);
			int metric = s[0] == '.' ? names_metric_ok(s + 1, len - 1) || len == 1
			                         : names_model_ok(s, len);
			CHECKF(names_metric_ok(s, len) == metric, "metric '%s'", s);
			checked++;
		}
	}
	CHECK(checked == 12 + 144 + 1728);
}

static void lists(void)
{
	static const char *const none[] = {NULL};
	static const char *const one[] = {"a", NULL};
	static const char *const two[] = {"default", "iforest-legacy", NULL};
	static const char *const four[] = {"auto", "dnnl", "vector", "reference", NULL};
	char buf[64];
	names_list(none, buf, sizeof buf);
	CHECK(strcmp(buf, "") == 0);
	names_list(one, buf, sizeof buf);
	CHECK(strcmp(buf, "a") == 0);
	names_list(two, buf, sizeof buf);
	CHECK(strcmp(buf, "default or iforest-legacy") == 0);
	names_list(four, buf, sizeof buf);
	CHECK(strcmp(buf, "auto, dnnl, vector or reference") == 0);
	names_list(four, buf, 10);
	CHECK(strcmp(buf, "auto, dnn") == 0);
	names_list(four, buf, 1);
	CHECK(buf[0] == '\0');
}

int main(void)
{
	rules();
	same_as_registry();
	lists();
	return 0;
}
