/*
 * series: the upstream sample files (three JSON files in shared/upstream, real Druid
 * answers) parse into the right shape and values. Expected values were read
 * from the files independently (Python's json module); they are compared
 * exactly, since both sides round the same decimal text to the nearest double.
 */
#include <math.h>
#include <string.h>

#include "rb/input/series.h"
#include "testutil.h"

static const char *const traffic_names[11] = {
	"flows_per_client", "flows_per_sec_per_client", "pps", "clients",
	"bytes_per_client", "bps", "flows", "bytes", "fps",
	"bits_per_sec_per_client", "pkts",
};

static struct series *load(const char *rel)
{
	size_t len;
	char *text = tu_read_file(tu_shared(rel), &len);
	struct series *s = NULL;
	struct rb_err err = {0};
	enum rb_code rc = series_parse(&s, text, len, NULL, &err);
	free(text);
	CHECKF(rc == RB_OK, "%s: %s", rel, err.msg);
	CHECK(s != NULL);
	return s;
}

static double at(const struct series *s, size_t row, const char *name)
{
	long c = series_col(s, name);
	CHECKF(c >= 0, "no column %s", name);
	return series_value(s, row, (size_t)c);
}

/*
 * Every cell present and finite, t[] matching the strings and strictly
 * increasing, by exactly step seconds when step > 0.
 */
static void check_regular(const struct series *s, double step)
{
	for (size_t i = 0; i < s->n * s->ncols; i++) {
		CHECK(s->present[i] == 1);
		CHECK(isfinite(s->values[i]));
	}
	for (size_t i = 0; i < s->n; i++) {
		double t;
		CHECK(series_parse_instant(s->timestamps[i], &t) == 0 && t == s->t[i]);
		if (i > 0)
			CHECK(s->t[i] > s->t[i - 1]);
		if (i > 0 && step > 0)
			CHECKF(s->t[i] - s->t[i - 1] == step, "row %zu: step %.0f", i,
			       s->t[i] - s->t[i - 1]);
	}
	CHECK(s->n_null == 0 && s->n_nonnumeric == 0 && s->reordered == 0);
}

static void outliers_test_data(void)
{
	struct series *s = load("upstream/outliers_test_data.json");
	CHECK(s->n == 60 && s->ncols == 11);
	for (size_t c = 0; c < 11; c++)
		CHECKF(strcmp(s->names[c], traffic_names[c]) == 0, "name %zu is %s", c, s->names[c]);
	CHECK(strcmp(s->timestamps[0], "2023-09-21T09:00:00.000Z") == 0);
	CHECK(strcmp(s->timestamps[59], "2023-09-21T09:59:00.000Z") == 0);
	CHECK(s->t[0] == 1695286800.0);
	check_regular(s, 60.0);
	CHECK(at(s, 0, "flows_per_client") == 40.91986963872697);
	CHECK(at(s, 0, "flows_per_sec_per_client") == 0.005683315227600969);
	CHECK(at(s, 0, "bytes_per_client") == 461180.40444406576);
	CHECK(at(s, 0, "bytes") == 3696668.0);
	CHECK(at(s, 0, "pkts") == 9501.0);
	CHECK(at(s, 0, "flows") == 328.0);
	CHECK(at(s, 59, "flows_per_client") == 22.818058066630734);
	CHECK(at(s, 59, "bits_per_sec_per_client") == 3932.4001098735644);
	CHECK(at(s, 59, "bytes") == 24816556.0);
	CHECK(at(s, 59, "pkts") == 30507.0);
	CHECK(at(s, 59, "clients") == 7.011990219885757);
	CHECK(series_col(s, "monitors") == -1);
	CHECK(series_col(s, "") == -1);
	series_free(s);
}

static void example_data(void)
{
	struct series *s = load("upstream/example_data.json");
	CHECK(s->n == 49 && s->ncols == 11);
	for (size_t c = 0; c < 11; c++)
		CHECK(strcmp(s->names[c], traffic_names[c]) == 0);
	CHECK(strcmp(s->timestamps[0], "2023-10-12T00:00:00.000Z") == 0);
	CHECK(strcmp(s->timestamps[48], "2023-10-28T00:00:00.000Z") == 0);
	check_regular(s, 8 * 3600.0);
	CHECK(s->t[48] - s->t[0] == 16 * 86400.0);
	/* Exponent notation as Druid writes large doubles ("1.062751110406091E9"). */
	CHECK(at(s, 0, "bytes_per_client") == 1062751110.406091);
	CHECK(at(s, 0, "bps") == 15246272.543333333);
	CHECK(at(s, 0, "bytes") == 54886581156.0);
	CHECK(at(s, 0, "pkts") == 56784384.0);
	CHECK(at(s, 48, "bytes") == 51715933762.0);
	CHECK(at(s, 48, "bytes_per_client") == 1021640702.6779379);
	CHECK(at(s, 48, "flows") == 184479.0);
	series_free(s);
}

static void shallow_data(void)
{
	struct series *s = load("upstream/shallow_outliers_test_data.json");
	CHECK(s->n == 239 && s->ncols == 1);
	CHECK(strcmp(s->names[0], "bytes") == 0);
	CHECK(series_col(s, "bytes") == 0);
	CHECK(strcmp(s->timestamps[0], "2024-05-22T10:00:00.000Z") == 0);
	CHECK(strcmp(s->timestamps[238], "2024-06-03T07:00:00.000Z") == 0);
	/* Hourly with 5 gaps (skipEmptyBuckets): 233 steps of 1 h, 5 longer ones. */
	check_regular(s, 0.0);
	size_t hourly = 0, gaps = 0;
	for (size_t i = 1; i < s->n; i++) {
		double d = s->t[i] - s->t[i - 1];
		CHECK(fmod(d, 3600.0) == 0.0);
		hourly += d == 3600.0;
		gaps += d > 3600.0;
	}
	CHECK(hourly == 233 && gaps == 5);
	CHECK(series_value(s, 0, 0) == 1135538070.0);
	CHECK(series_value(s, 1, 0) == 1294354228.0);
	CHECK(series_value(s, 238, 0) == 724877222.0);
	series_free(s);
}

int main(void)
{
	outliers_test_data();
	example_data();
	shallow_data();
	series_free(NULL);
	printf("series: 3 upstream samples parsed and checked\n");
	return 0;
}
