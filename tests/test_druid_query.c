/*
 * test_druid_query: the query check, granularity lengths, template loading
 * and the rewrite for model-based detection.
 *
 * The rewrite is data-driven: every tests/data/druid/<case>.query.json is
 * rewritten with models/traffic.druid.json and must equal
 * <case>.expected.json (json_equal); the caller's query must be unchanged
 * afterwards (compared with a deep copy taken before).
 */
#include <dirent.h>
#include <string.h>

#include "core/druid/druid_private.h"
#include "rb/druid/druid_query.h"
#include "testutil.h"

static struct druid_template *traffic_template(void)
{
	struct druid_template *t = NULL;
	struct rb_err err = {0};
	enum rb_code rc = druid_template_load(&t, tu_source("models"), "traffic", &err);
	CHECKF(rc == RB_OK, "%s", err.msg);
	return t;
}

static json_t *load_json_file(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	CHECKF(j != NULL, "%s: %s", path, jerr.text);
	return j;
}

static void dump_diff(const json_t *got, const json_t *want)
{
	char *a = json_dumps(got, JSON_INDENT(1) | JSON_SORT_KEYS);
	char *b = json_dumps(want, JSON_INDENT(1) | JSON_SORT_KEYS);
	fprintf(stderr, "--- got\n%s\n--- want\n%s\n", a ? a : "?", b ? b : "?");
	free(a);
	free(b);
}

/* Every case in tests/data/druid; returns how many ran. */
static size_t rewrite_cases(const struct druid_template *t)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", tu_source("tests/data/druid"));
	DIR *d = opendir(dir);
	CHECKF(d != NULL, "%s", dir);
	size_t ran = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *suffix = ".query.json";
		size_t n = strlen(e->d_name), sl = strlen(suffix);
		if (n <= sl || strcmp(e->d_name + n - sl, suffix) != 0)
			continue;
		char qpath[4400], epath[4400]; /* dir, a name of up to 255 bytes, a suffix */
		snprintf(qpath, sizeof qpath, "%s/%s", dir, e->d_name);
		snprintf(epath, sizeof epath, "%s/%.*s.expected.json", dir, (int)(n - sl), e->d_name);

		/* Through the text path a client's query takes. */
		size_t len = 0;
		char *text = tu_read_file(qpath, &len);
		struct rb_err err = {0};
		json_t *query = NULL;
		CHECKF(druid_query_parse(&query, text, len, 0, &err) == RB_OK, "%s: %s", qpath,
		       err.msg);
		free(text);
		json_t *before = json_deep_copy(query);
		json_t *want = load_json_file(epath);

		json_t *got = NULL;
		CHECKF(druid_query_rewrite(&got, query, t, &err) == RB_OK, "%s: %s", qpath, err.msg);
		if (!json_equal(got, want)) {
			dump_diff(got, want);
			CHECKF(0, "%s: rewritten query differs from %s", qpath, epath);
		}
		CHECKF(json_equal(query, before), "%s: the caller's query was modified", qpath);
		CHECK(got != query);

		/* The text sent to Druid parses back to the same query. */
		char *out = NULL;
		size_t out_len = 0;
		CHECK(druid_query_dump(got, &out, &out_len, 0, &err) == RB_OK);
		CHECK(out_len == strlen(out) && strchr(out, '\n') == NULL);
		json_t *back = json_loadb(out, out_len, 0, NULL);
		CHECK(back != NULL && json_equal(back, want));
		/* A cap below its size refuses it. */
		char *small = NULL;
		size_t small_len = 0;
		CHECK(druid_query_dump(got, &small, &small_len, out_len - 1, &err) == RB_E_TOO_LARGE);
		CHECK(small == NULL && small_len == 0);

		json_decref(back);
		free(out);
		json_decref(got);
		json_decref(want);
		json_decref(before);
		json_decref(query);
		ran++;
	}
	closedir(d);
	return ran;
}

static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	CHECKF(j != NULL, "%s: %s", text, jerr.text);
	return j;
}

static void granularity_table(void)
{
	static const struct {
		const char *json;
		int64_t ms;
		const char *why; /* error substring when ms == 0 */
	} rows[] = {
		{"\"second\"", 1000, NULL},
		{"\"minute\"", 60000, NULL},
		{"\"MINUTE\"", 60000, NULL},
		{"\"Five_Minute\"", 300000, NULL},
		{"\"ten_minute\"", 600000, NULL},
		{"\"fifteen_minute\"", 900000, NULL},
		{"\"thirty_minute\"", 1800000, NULL},
		{"\"hour\"", 3600000, NULL},
		{"\"six_hour\"", 21600000, NULL},
		{"\"eight_hour\"", 28800000, NULL},
		{"\"day\"", 86400000, NULL},
		{"\"week\"", 604800000, NULL},
		{"{\"type\":\"period\",\"period\":\"PT5M\"}", 300000, NULL},
		{"{\"type\":\"period\",\"period\":\"pt5m\",\"origin\":\"\"}", 300000, NULL},
		{"{\"type\":\"period\",\"period\":\"PT1H30M\",\"timeZone\":\"Europe/Madrid\"}", 5400000,
		 NULL},
		{"{\"type\":\"period\",\"period\":\"P1D\",\"timeZone\":\"America/New_York\"}", 86400000,
		 NULL},
		{"{\"type\":\"Period\",\"period\":\"PT1M\"}", 60000, NULL},
		{"{\"type\":\"duration\",\"duration\":300000}", 300000, NULL},
		{"{\"type\":\"duration\",\"duration\":1500,\"origin\":\"2023-01-01\"}", 1500, NULL},
		{"\"all\"", 0, "granularity \"all\" has no fixed length"},
		{"\"ALL\"", 0, "granularity \"all\" has no fixed length"},
		{"\"none\"", 0, "granularity \"none\" has no fixed length"},
		{"\"month\"", 0, "granularity \"month\" has no fixed length"},
		{"\"quarter\"", 0, "granularity \"quarter\" has no fixed length"},
		{"\"year\"", 0, "granularity \"year\" has no fixed length"},
		{"{\"type\":\"all\"}", 0, "granularity \"all\" has no fixed length"},
		{"{\"type\":\"none\"}", 0, "has no fixed length"},
		{"{\"type\":\"period\",\"period\":\"P1M\"}", 0, "granularity period \"P1M\": period has no fixed length"},
		{"{\"type\":\"period\",\"period\":\"P1Y\"}", 0, "no fixed length"},
		{"{\"type\":\"period\",\"period\":\"\"}", 0, "empty period"},
		{"{\"type\":\"period\",\"period\":\"PT0S\"}", 0, "zero"},
		{"{\"type\":\"period\",\"period\":\"-PT1M\"}", 0, "negative"},
		{"{\"type\":\"period\",\"period\":\"PT5M\\n\\u0001<b>\"}", 0, "granularity period \"PT5M <b>\""},
		{"{\"type\":\"period\",\"period\":5}", 0, "no \"period\" string"},
		{"{\"type\":\"period\"}", 0, "no \"period\" string"},
		{"{\"type\":\"duration\",\"duration\":0}", 0, "positive whole number"},
		{"{\"type\":\"duration\",\"duration\":-60000}", 0, "positive whole number"},
		{"{\"type\":\"duration\",\"duration\":\"300000\"}", 0, "positive whole number"},
		{"{\"type\":\"duration\",\"duration\":300000.5}", 0, "positive whole number"},
		{"{\"type\":\"duration\",\"duration\":1000000000000001}", 0, "positive whole number"},
		{"{\"type\":\"weird\"}", 0, "unknown granularity type \"weird\""},
		{"{\"period\":\"PT5M\"}", 0, "no \"type\""},
		{"\"fortnight\"", 0, "unknown granularity \"fortnight\""},
		{"\"\"", 0, "unknown granularity \"\""},
		{"\"PT5M\"", 0, "unknown granularity \"PT5M\""},
		{"300000", 0, "a name or an object"},
		{"null", 0, "a name or an object"},
		{"[\"minute\"]", 0, "a name or an object"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		json_t *g = json_loads(rows[i].json, JSON_DECODE_ANY, NULL);
		CHECKF(g != NULL, "%s", rows[i].json);
		struct rb_err err = {0};
		int64_t ms = -1;
		enum rb_code rc = druid_granularity_ms(g, &ms, &err);
		if (rows[i].ms > 0) {
			CHECKF(rc == RB_OK && ms == rows[i].ms, "%s: rc %d, %lld ms (%s)", rows[i].json, rc,
			       (long long)ms, err.msg);
		} else {
			CHECKF(rc == RB_E_INPUT && rb_http_status(rc) == 400 && ms == 0, "%s accepted",
			       rows[i].json);
			CHECKF(strstr(err.msg, rows[i].why) != NULL, "%s: \"%s\" lacks \"%s\"",
			       rows[i].json, err.msg, rows[i].why);
		}
		json_decref(g);
	}
}

static void check_table(void)
{
	static const struct {
		const char *json;
		const char *why; /* NULL: accepted */
	} rows[] = {
		{"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":\"2023-09-21/2023-09-22\",\"granularity\":\"all\"}", NULL},
		{"{\"queryType\":\"timeseries\",\"dataSource\":{\"type\":\"table\",\"name\":\"rb_flow\"},\"intervals\":{\"type\":\"intervals\",\"intervals\":[\"2023-09-21/2023-09-22\"]},\"granularity\":\"minute\"}", NULL},
		{"{\"queryType\":\"groupBy\",\"dataSource\":\"rb_flow\",\"intervals\":[\"x\"],\"granularity\":\"minute\"}", "only timeseries queries are supported (queryType is \"groupBy\")"},
		{"{\"queryType\":\"topN\",\"dataSource\":\"rb_flow\",\"intervals\":[\"x\"],\"granularity\":\"minute\"}", "only timeseries queries are supported"},
		{"{\"queryType\":\"Timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":[\"x\"],\"granularity\":\"minute\"}", "only timeseries queries are supported"},
		{"{\"queryType\":7,\"dataSource\":\"rb_flow\",\"intervals\":[\"x\"],\"granularity\":\"minute\"}", "only timeseries queries are supported"},
		{"{\"dataSource\":\"rb_flow\",\"intervals\":[\"x\"],\"granularity\":\"minute\"}", "no queryType"},
		{"{\"queryType\":\"timeseries\",\"intervals\":[\"x\"],\"granularity\":\"minute\"}", "no dataSource"},
		{"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"granularity\":\"minute\"}", "no intervals"},
		{"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":null,\"granularity\":\"minute\"}", "no intervals"},
		{"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":[],\"granularity\":\"minute\"}", "intervals must be"},
		{"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":[1],\"granularity\":\"minute\"}", "intervals must be"},
		{"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":\"\",\"granularity\":\"minute\"}", "intervals must be"},
		{"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":[\"x\"]}", "no granularity"},
		{"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":[\"x\"],\"granularity\":60}", "granularity must be a name or an object"},
		{"[{\"queryType\":\"timeseries\"}]", "must be a JSON object"},
		{"\"timeseries\"", "must be a JSON object"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct rb_err err = {0};
		json_t *q = NULL;
		enum rb_code rc = druid_query_parse(&q, rows[i].json, strlen(rows[i].json), 0, &err);
		if (rows[i].why == NULL) {
			CHECKF(rc == RB_OK && q != NULL, "%s: %s", rows[i].json, err.msg);
		} else {
			CHECKF(rc == RB_E_INPUT && q == NULL, "%s accepted", rows[i].json);
			CHECKF(strstr(err.msg, rows[i].why) != NULL, "%s: \"%s\" lacks \"%s\"",
			       rows[i].json, err.msg, rows[i].why);
		}
		json_decref(q);
	}
}

static void parse_caps(void)
{
	struct rb_err err = {0};
	json_t *q = NULL;
	const char *ok = "{\"queryType\":\"timeseries\",\"dataSource\":\"d\",\"intervals\":\"i\","
	                 "\"granularity\":\"minute\"}";
	size_t n = strlen(ok);
	/* Size cap, exact boundary. */
	CHECK(druid_query_parse(&q, ok, n, n, &err) == RB_OK);
	json_decref(q);
	CHECK(druid_query_parse(&q, ok, n, n - 1, &err) == RB_E_TOO_LARGE && q == NULL);
	CHECK(rb_http_status(err.code) == 413);
	/* Not NUL-terminated: only len bytes. */
	char *copy = malloc(n + 5);
	CHECK(copy != NULL);
	memcpy(copy, ok, n);
	memcpy(copy + n, "junk", 4);
	CHECK(druid_query_parse(&q, copy, n, 0, &err) == RB_OK);
	json_decref(q);
	CHECK(druid_query_parse(&q, copy, n + 4, 0, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "not valid JSON") != NULL, "%s", err.msg);
	free(copy);
	/* Depth cap: 64 levels pass the cap (then fail the check), 65 do not. */
	char deep[400];
	for (int depth = 64; depth <= 65; depth++) {
		size_t o = 0;
		for (int i = 0; i < depth; i++)
			deep[o++] = '[';
		for (int i = 0; i < depth; i++)
			deep[o++] = ']';
		enum rb_code rc = druid_query_parse(&q, deep, o, 0, &err);
		CHECKF(rc == (depth == 64 ? RB_E_INPUT : RB_E_TOO_LARGE), "depth %d: %d %s", depth, rc,
		       err.msg);
	}
	/* Brackets inside strings do not count. */
	const char *str = "{\"queryType\":\"timeseries\",\"dataSource\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\",\"intervals\":\"i\",\"granularity\":\"minute\"}";
	CHECKF(druid_query_parse(&q, str, strlen(str), 0, &err) == RB_OK, "%s", err.msg);
	json_decref(q);
	/* Duplicate keys are refused (Druid and we might otherwise read different ones). */
	const char *dup = "{\"queryType\":\"timeseries\",\"dataSource\":\"d\",\"intervals\":\"i\","
	                  "\"granularity\":\"minute\",\"granularity\":\"all\"}";
	CHECK(druid_query_parse(&q, dup, strlen(dup), 0, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "duplicate") != NULL, "%s", err.msg);
	CHECK(druid_query_parse(&q, "", 0, 0, &err) == RB_E_INPUT);
}

static void rewrite_errors(const struct druid_template *t)
{
	static const char *bad[] = {
		"{\"queryType\":\"timeseries\",\"dataSource\":\"d\",\"intervals\":\"i\",\"granularity\":\"all\",\"aggregations\":[]}",
		"{\"queryType\":\"timeseries\",\"dataSource\":\"d\",\"intervals\":\"i\",\"granularity\":{\"type\":\"period\",\"period\":\"P1M\"}}",
		"{\"queryType\":\"groupBy\",\"dataSource\":\"d\",\"intervals\":\"i\",\"granularity\":\"minute\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *q = J(bad[i]);
		json_t *before = json_deep_copy(q);
		json_t *out = (json_t *)1;
		struct rb_err err = {0};
		CHECKF(druid_query_rewrite(&out, q, t, &err) == RB_E_INPUT, "%s", bad[i]);
		CHECK(out == NULL);
		CHECK(json_equal(q, before));
		json_decref(before);
		json_decref(q);
	}
}

static struct druid_template *tmpl(const char *text, enum rb_code want, const char *why)
{
	struct druid_template *t = (struct druid_template *)1;
	struct rb_err err = {0};
	enum rb_code rc = druid_template_parse(&t, text, strlen(text), "x.druid.json", &err);
	CHECKF(rc == want, "%s: rc %d (%s)", text, rc, err.msg);
	if (want != RB_OK) {
		CHECK(t == NULL);
		CHECKF(strstr(err.msg, why) != NULL, "%s: \"%s\" lacks \"%s\"", text, err.msg, why);
		CHECKF(strncmp(err.msg, "x.druid.json: ", 14) == 0, "%s", err.msg);
	}
	return want == RB_OK ? t : NULL;
}

static void templates(const struct druid_template *traffic)
{
	tmpl("[]", RB_E_MODEL, "must be a JSON object");
	tmpl("{", RB_E_MODEL, "not valid JSON");
	tmpl("{\"aggregations\":[{\"type\":\"count\",\"name\":\"n\"}]}", RB_E_MODEL, "\"version\" must be 1");
	tmpl("{\"version\":2,\"aggregations\":[{\"type\":\"count\",\"name\":\"n\"}]}", RB_E_MODEL, "\"version\" must be 1");
	tmpl("{\"version\":1,\"aggregations\":[]}", RB_E_MODEL, "non-empty array");
	tmpl("{\"version\":1}", RB_E_MODEL, "non-empty array");
	tmpl("{\"version\":1,\"aggregations\":[{\"type\":\"count\",\"name\":\"n\"}],\"postAggregation\":[]}", RB_E_MODEL, "unknown key \"postAggregation\"");
	tmpl("{\"version\":1,\"aggregations\":[{\"type\":\"count\",\"name\":\"n\"}],\"postAggregations\":{}}", RB_E_MODEL, "must be an array");
	tmpl("{\"version\":1,\"aggregations\":[{\"name\":\"n\"}]}", RB_E_MODEL, "aggregations[0] has no \"type\"");
	tmpl("{\"version\":1,\"aggregations\":[{\"type\":\"count\"}]}", RB_E_MODEL, "aggregations[0] has no \"name\"");
	tmpl("{\"version\":1,\"aggregations\":[3]}", RB_E_MODEL, "aggregations[0] is not an object");
	tmpl("{\"version\":1,\"aggregations\":[{\"type\":\"count\",\"name\":\"n\"}],\"postAggregations\":[{\"type\":\"constant\",\"name\":\"n\",\"value\":1}]}", RB_E_MODEL, "name \"n\" is used twice");
	tmpl("{\"version\":1,\"aggregations\":[{\"type\":\"count\",\"name\":\"n\"}],\"postAggregations\":[{\"type\":\"constant\",\"name\":\"s\",\"value\":\"$granularity_secs\"}]}", RB_E_MODEL, "unknown placeholder \"$granularity_secs\"");
	tmpl("{\"version\":1,\"aggregations\":[{\"type\":\"count\",\"name\":\"n\",\"x\":\"$\"}]}", RB_E_MODEL, "unknown placeholder");
	tmpl("{\"version\":1,\"version\":1,\"aggregations\":[{\"type\":\"count\",\"name\":\"n\"}]}", RB_E_MODEL, "duplicate");

	/* Placeholders: seconds (integer / real), millis, and the $$ escape. */
	struct druid_template *t = tmpl(
		"{\"version\":1,\"description\":\"d\",\"aggregations\":[{\"type\":\"filtered\",\"name\":\"n\","
		"\"filter\":{\"type\":\"selector\",\"dimension\":\"x\",\"value\":\"$$granularity_seconds\"},"
		"\"aggregator\":{\"type\":\"count\",\"name\":\"n\"}}],"
		"\"postAggregations\":[{\"type\":\"constant\",\"name\":\"s\",\"value\":\"$granularity_seconds\"},"
		"{\"type\":\"constant\",\"name\":\"ms\",\"value\":\"$granularity_millis\"}]}",
		RB_OK, NULL);
	const char *qs[] = {"\"minute\"", "{\"type\":\"period\",\"period\":\"PT0.25S\"}"};
	const char *want[] = {
		"{\"aggregations\":[{\"type\":\"filtered\",\"name\":\"n\",\"filter\":{\"type\":\"selector\",\"dimension\":\"x\",\"value\":\"$granularity_seconds\"},\"aggregator\":{\"type\":\"count\",\"name\":\"n\"}}],"
		"\"postAggregations\":[{\"type\":\"constant\",\"name\":\"s\",\"value\":60},{\"type\":\"constant\",\"name\":\"ms\",\"value\":60000}]}",
		"{\"aggregations\":[{\"type\":\"filtered\",\"name\":\"n\",\"filter\":{\"type\":\"selector\",\"dimension\":\"x\",\"value\":\"$granularity_seconds\"},\"aggregator\":{\"type\":\"count\",\"name\":\"n\"}}],"
		"\"postAggregations\":[{\"type\":\"constant\",\"name\":\"s\",\"value\":0.25},{\"type\":\"constant\",\"name\":\"ms\",\"value\":250}]}",
	};
	for (int i = 0; i < 2; i++) {
		char qtext[512];
		snprintf(qtext, sizeof qtext,
		         "{\"queryType\":\"timeseries\",\"dataSource\":\"d\",\"intervals\":\"i\",\"granularity\":%s}",
		         qs[i]);
		json_t *q = J(qtext);
		json_t *out = NULL;
		struct rb_err err = {0};
		CHECKF(druid_query_rewrite(&out, q, t, &err) == RB_OK, "%s", err.msg);
		/* Expected: the query plus the instantiated template arrays. */
		json_t *w = J(qtext);
		json_t *w2 = J(want[i]);
		CHECK(json_object_update(w, w2) == 0);
		if (!json_equal(out, w)) {
			dump_diff(out, w);
			CHECK(0);
		}
		CHECK(json_is_integer(json_object_get(json_array_get(json_object_get(out, "postAggregations"), 0), "value")) == (i == 0));
		json_decref(w2);
		json_decref(w);
		json_decref(out);
		json_decref(q);
	}
	CHECK(druid_template_provides(t, "n") && druid_template_provides(t, "ms"));
	CHECK(!druid_template_provides(t, "bytes"));
	druid_template_free(t);
	druid_template_free(NULL);

	/* The traffic template yields every metric column of the upstream traffic.ini. */
	char *ini = tu_read_file(tu_shared("upstream/traffic.ini"), NULL);
	char *line = strstr(ini, "metrics = ");
	CHECK(line != NULL);
	line += strlen("metrics = ");
	size_t seen = 0;
	while (*line != '\0' && *line != '\n') {
		size_t n = strcspn(line, ",\n");
		char name[64];
		CHECK(n > 0 && n < sizeof name);
		memcpy(name, line, n);
		name[n] = '\0';
		/* "granularity" is computed from timestamps, not asked of Druid. */
		if (strcmp(name, "granularity") != 0) {
			CHECKF(druid_template_provides(traffic, name), "traffic template lacks %s", name);
			seen++;
		}
		line += n;
		if (*line == ',')
			line++;
		while (*line == ' ')
			line++;
	}
	CHECK(seen == 11);
	free(ini);

	/* Loading: missing file, unsafe names; messages never show the directory. */
	struct druid_template *x = (struct druid_template *)1;
	struct rb_err err = {0};
	CHECK(druid_template_load(&x, tu_source("models"), "no_such_model", &err) == RB_E_NOT_FOUND);
	CHECK(x == NULL);
	CHECKF(strstr(err.msg, "no_such_model.druid.json") != NULL && strchr(err.msg, '/') == NULL,
	       "%s", err.msg);
	const char *unsafe[] = {"../models/traffic", "", ".hidden", "a/b", "traffic\n"};
	for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++)
		CHECKF(druid_template_load(&x, tu_source("models"), unsafe[i], &err) == RB_E_NOT_FOUND,
		       "%s", unsafe[i]);
}

static void prepare(const struct druid_template *t)
{
	size_t len = 0;
	char *text = tu_read_file(tu_source("tests/data/druid/seed_readme_pt1m.query.json"), &len);
	json_t *want = load_json_file(tu_source("tests/data/druid/seed_readme_pt1m.expected.json"));
	char *body = NULL;
	size_t blen = 0;
	struct rb_err err = {0};
	/* With the model's template: the rewritten query. */
	CHECKF(druid_query_prepare(text, len, t, 0, &body, &blen, &err) == RB_OK, "%s", err.msg);
	json_t *got = json_loadb(body, blen, 0, NULL);
	CHECK(got != NULL && json_equal(got, want) && strlen(body) == blen);
	json_decref(got);
	free(body);
	/* Without (default detector): the client's bytes, unchanged. */
	CHECKF(druid_query_prepare(text, len, NULL, 0, &body, &blen, &err) == RB_OK, "%s", err.msg);
	CHECK(blen == len && memcmp(body, text, len) == 0 && body[len] == '\0');
	free(body);
	/* Errors leave nothing behind and keep their code. */
	body = (char *)1;
	CHECK(druid_query_prepare(text, len, t, len - 1, &body, &blen, &err) == RB_E_TOO_LARGE);
	CHECK(body == NULL && blen == 0);
	const char *month = "{\"queryType\":\"timeseries\",\"dataSource\":\"d\",\"intervals\":\"i\","
	                    "\"granularity\":\"month\"}";
	CHECK(druid_query_prepare(month, strlen(month), t, 0, &body, &blen, &err) == RB_E_INPUT);
	CHECK(body == NULL && strstr(err.msg, "no fixed length") != NULL);
	/* The default detector does not need a fixed-length granularity. */
	CHECK(druid_query_prepare(month, strlen(month), NULL, 0, &body, &blen, &err) == RB_OK);
	free(body);
	/* The rewrite grows the query: a cap between the two sizes fails only with a template. */
	CHECK(druid_query_prepare(text, len, t, len + 10, &body, &blen, &err) == RB_E_TOO_LARGE);
	CHECK(body == NULL);
	json_decref(want);
	free(text);
}

static void clean_text(void)
{
	char buf[16];
	druid_clean_text(buf, sizeof buf, "  a\n\tb  ", 8);
	CHECKF(strcmp(buf, "a b") == 0, "[%s]", buf);
	druid_clean_text(buf, sizeof buf, "x\xc3\xa9y\x7f", 5);
	CHECKF(strcmp(buf, "x??y") == 0, "[%s]", buf);
	druid_clean_text(buf, sizeof buf, "0123456789abcdefghij", 20);
	CHECKF(strcmp(buf, "0123456789ab...") == 0 && strlen(buf) == 15, "[%s]", buf);
	druid_clean_text(buf, sizeof buf, "0123456789abcde", 15);
	CHECKF(strcmp(buf, "0123456789abcde") == 0, "[%s]", buf);
	druid_clean_text(buf, 4, "abcdef", 6);
	CHECKF(strcmp(buf, "...") == 0, "[%s]", buf);
	druid_clean_text(buf, 1, "abcdef", 6);
	CHECK(buf[0] == '\0');
	druid_clean_text(buf, sizeof buf, "", 0);
	CHECK(buf[0] == '\0');
}

int main(void)
{
	struct druid_template *traffic = traffic_template();
	size_t ran = rewrite_cases(traffic);
	CHECKF(ran >= 8, "only %zu rewrite cases found", ran);
	granularity_table();
	check_table();
	parse_caps();
	rewrite_errors(traffic);
	templates(traffic);
	prepare(traffic);
	clean_text();
	druid_template_free(traffic);
	printf("druid_query: %zu rewrite cases\n", ran);
	return 0;
}
