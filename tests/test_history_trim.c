/*
 * history_trim: series_drop_head and detection_drop_head, what the service
 * uses to answer only the requested rows after a detector ran over history
 * (docs/DRUID.md, History): the kept rows move to the front unchanged, in
 * order, in every per-row array; dropped timestamps are freed unless they
 * live in the series' text block (ASan/valgrind see a leak or a double free).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detection.h"
#include "rb/input/series.h"
#include "testutil.h"

static void parsed_series(void)
{
	const char *json = "[{\"timestamp\":\"2023-09-21T08:58:00.000Z\",\"result\":{\"a\":1,\"b\":10}},"
	                   "{\"timestamp\":\"2023-09-21T08:59:00.000Z\",\"result\":{\"a\":2}},"
	                   "{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":3,\"b\":30}},"
	                   "{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":null,\"b\":40}}]";
	struct series *s = NULL;
	struct rb_err err = {0};
	CHECKF(series_parse(&s, json, strlen(json), NULL, &err) == RB_OK, "%s", err.msg);
	CHECK(s->n == 4 && s->ncols == 2);
	/* One timestamp replaced by a malloc'd string of its own (series.h allows it). */
	s->timestamps[0] = strdup("own");
	series_drop_head(s, 2);
	CHECK(s->n == 2 && s->ncols == 2);
	CHECK(strcmp(s->timestamps[0], "2023-09-21T09:00:00.000Z") == 0);
	CHECK(strcmp(s->timestamps[1], "2023-09-21T09:01:00.000Z") == 0);
	CHECK(s->t[0] == 1695286800.0 && s->t[1] == 1695286860.0);
	CHECK(series_value(s, 0, 0) == 3 && series_value(s, 0, 1) == 30);
	CHECK(isnan(series_value(s, 1, 0)) && series_value(s, 1, 1) == 40);
	CHECK(s->present[0] == 1 && s->present[2] == 0 && s->present[3] == 1);
	series_drop_head(s, 0);
	CHECK(s->n == 2);
	series_drop_head(s, 2); /* everything was history */
	CHECK(s->n == 0);
	series_free(s);
}

static void hand_built(void)
{
	struct series *s = NULL;
	CHECK(series_alloc(&s, 3, 1, NULL) == RB_OK);
	for (size_t i = 0; i < 3; i++) {
		char ts[16];
		snprintf(ts, sizeof ts, "row%zu", i);
		s->timestamps[i] = strdup(ts); /* each its own allocation: freed when dropped */
		s->t[i] = (double)i;
		s->values[i] = (double)i;
		s->present[i] = 1;
	}
	s->names[0] = strdup("x");
	series_drop_head(s, 1);
	CHECK(s->n == 2 && strcmp(s->timestamps[0], "row1") == 0 && s->values[1] == 2.0);
	series_free(s);
}

static void detection(void)
{
	struct detection d;
	CHECK(detection_init(&d, 5, NULL) == RB_OK);
	for (size_t i = 0; i < 5; i++) {
		d.expected[i] = 10.0 + (double)i;
		d.observed[i] = 20.0 + (double)i;
		d.score[i] = 30.0 + (double)i;
		d.anomaly[i] = (unsigned char)(i % 2);
	}
	detection_drop_head(&d, 3);
	CHECK(d.n == 2);
	CHECK(d.expected[0] == 13 && d.observed[0] == 23 && d.score[0] == 33 && d.anomaly[0] == 1);
	CHECK(d.expected[1] == 14 && d.observed[1] == 24 && d.score[1] == 34 && d.anomaly[1] == 0);
	detection_drop_head(&d, 0);
	CHECK(d.n == 2);
	detection_drop_head(&d, 2);
	CHECK(d.n == 0);
	detection_release(&d);
}

int main(void)
{
	parsed_series();
	hand_built();
	detection();
	printf("history_trim: ok\n");
	return 0;
}
