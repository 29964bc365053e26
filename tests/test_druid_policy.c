/*
 * test_druid_policy: the Druid query policy (include/rb/druid/druid_policy.h,
 * docs/DRUID.md "The query policy"): the druid_datasources list and table
 * names; templates' dataSources and auto; every refusal with its message
 * (data sources of each kind, javascript at every place and depth, context
 * keys), the context.timeout clamp, the depth cap on a hostile query built
 * in memory, and druid_query_prepare_policy (the client's bytes kept only
 * when nothing changed, the model path checked too).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "rb/druid/druid_policy.h"
#include "rb/druid/druid_query.h"
#include "testutil.h"

#define T_MS 30000

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	CHECKF(j != NULL, "%s: %s", text, je.text);
	return j;
}

/* A timeseries query with the given dataSource text and the rest (",..." or ""). */
static json_t *query(const char *ds, const char *rest)
{
	char buf[4096];
	snprintf(buf, sizeof buf,
	         "{\"queryType\":\"timeseries\",\"dataSource\":%s,\"granularity\":\"minute\","
	         "\"intervals\":\"2023-09-21/2023-09-22\"%s}",
	         ds, rest);
	return load(buf);
}

static void names_and_lists(void)
{
	CHECK(druid_policy_name_ok("rb_flow", 7));
	CHECK(druid_policy_name_ok("a.b-c:d/e", 9));
	CHECK(!druid_policy_name_ok("", 0));
	CHECK(!druid_policy_name_ok("a b", 3));
	CHECK(!druid_policy_name_ok("a,b", 3));
	CHECK(!druid_policy_name_ok("a\tb", 3));
	CHECK(!druid_policy_name_ok("caf\xc3\xa9", 5));
	CHECK(!druid_policy_name_ok("auto", 4));
	CHECK(!druid_policy_name_ok("*", 1));
	char longname[300];
	memset(longname, 'x', sizeof longname);
	CHECK(druid_policy_name_ok(longname, DRUID_POLICY_NAME_MAX));
	CHECK(!druid_policy_name_ok(longname, DRUID_POLICY_NAME_MAX + 1));

	static const struct {
		const char *list;
		int ok;
	} lists[] = {
		{"auto", 1}, {"*", 1}, {"rb_flow", 1}, {"rb_flow, other", 1}, {"a,b,,c", 1},
		{"auto, extra", 1}, {" rb_flow ", 1}, {"", 0}, {" , ", 0}, {"a b", 1},
		{"caf\xc3\xa9", 0}, {"a\x01", 0},
	};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		struct rb_err err = {0};
		enum rb_code rc = druid_policy_list_check(lists[i].list, strlen(lists[i].list), &err);
		CHECKF((rc == RB_OK) == lists[i].ok, "'%s': %s", lists[i].list, err.msg);
		if (!lists[i].ok)
			CHECK(rc == RB_E_CONFIG && err.msg[0] != '\0');
	}

	struct druid_policy *p = NULL;
	struct rb_err err = {0};
	CHECK(druid_policy_new(&p, "", T_MS, &err) == RB_E_CONFIG && p == NULL);
	CHECK(druid_policy_new(&p, "rb_flow", 0, &err) == RB_E_CONFIG && p == NULL);
	CHECK(druid_policy_new(&p, "b, a, b", T_MS, &err) == RB_OK);
	char d[64];
	druid_policy_describe(p, d, sizeof d);
	CHECKF(strcmp(d, "b, a") == 0, "%s", d);
	CHECK(druid_policy_allows(p, "a", 1) && druid_policy_allows(p, "b", 1));
	CHECK(!druid_policy_allows(p, "c", 1) && !druid_policy_allows(p, "ab", 2));
	CHECK(!druid_policy_allows(p, "B", 1)); /* Druid's names are case-sensitive */
	druid_policy_free(p);
	CHECK(druid_policy_new(&p, "*", T_MS, &err) == RB_OK);
	druid_policy_describe(p, d, sizeof d);
	CHECK(strcmp(d, "any table") == 0 && druid_policy_allows(p, "anything", 8));
	druid_policy_free(p);
	druid_policy_free(NULL);
}

static void templates(void)
{
	size_t len;
	char *text = tu_read_file(tu_source("models/traffic.druid.json"), &len);
	struct druid_template *t = NULL;
	struct rb_err err = {0};
	CHECKF(druid_template_parse(&t, text, len, "traffic.druid.json", &err) == RB_OK, "%s",
	       err.msg);
	free(text);
	CHECK(druid_template_datasource_count(t) == 1);
	CHECK(strcmp(druid_template_datasource(t, 0), "rb_flow") == 0);

	/* auto: the templates' tables; none before a template is added. */
	struct druid_policy *p = NULL;
	CHECK(druid_policy_new(&p, "auto", T_MS, &err) == RB_OK);
	char d[64];
	druid_policy_describe(p, d, sizeof d);
	CHECK(strcmp(d, "none") == 0 && !druid_policy_allows(p, "rb_flow", 7));
	CHECK(druid_policy_add_template(p, NULL, &err) == RB_OK);
	CHECK(druid_policy_add_template(p, t, &err) == RB_OK);
	CHECK(druid_policy_add_template(p, t, &err) == RB_OK); /* twice: listed once */
	druid_policy_describe(p, d, sizeof d);
	CHECKF(strcmp(d, "rb_flow") == 0, "%s", d);
	druid_policy_free(p);
	/* auto among names */
	CHECK(druid_policy_new(&p, "extra, auto", T_MS, &err) == RB_OK);
	CHECK(druid_policy_add_template(p, t, &err) == RB_OK);
	druid_policy_describe(p, d, sizeof d);
	CHECKF(strcmp(d, "extra, rb_flow") == 0, "%s", d);
	druid_policy_free(p);
	/* without auto a template adds nothing */
	CHECK(druid_policy_new(&p, "extra", T_MS, &err) == RB_OK);
	CHECK(druid_policy_add_template(p, t, &err) == RB_OK);
	CHECK(!druid_policy_allows(p, "rb_flow", 7));
	druid_policy_free(p);
	druid_template_free(t);

	/* A template without dataSources names none; a bad list is a bad model file. */
	static const char *const base =
		"{\"version\":1,%s\"aggregations\":[{\"type\":\"count\",\"name\":\"n\"}]}";
	static const struct {
		const char *key;
		const char *msg; /* NULL: valid */
	} cases[] = {
		{"", NULL},
		{"\"dataSources\":[],", NULL},
		{"\"dataSources\":[\"a\",\"b\"],", NULL},
		{"\"dataSources\":\"rb_flow\",", "\"dataSources\" must be an array of table names"},
		{"\"dataSources\":[1],", "dataSources[0] is not a table name"},
		{"\"dataSources\":[\"ok\",\"a b\"],", "dataSources[1] is not a table name"},
		{"\"dataSources\":[\"auto\"],", "dataSources[0] is not a table name"},
		{"\"dataSources\":[\"\"],", "dataSources[0] is not a table name"},
		{"\"dataSources\":[\"a\\u0000b\"],", "not valid JSON"}, /* Jansson refuses NULs */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char doc[512];
		snprintf(doc, sizeof doc, base, cases[i].key);
		enum rb_code rc = druid_template_parse(&t, doc, strlen(doc), "x.druid.json", &err);
		if (cases[i].msg == NULL) {
			CHECKF(rc == RB_OK, "%s: %s", doc, err.msg);
			druid_template_free(t);
		} else {
			CHECKF(rc == RB_E_MODEL && strstr(err.msg, cases[i].msg) != NULL, "%s: %s", doc,
			       err.msg);
		}
	}
}

/* Each refusal of druid_policy_check with its message; and the queries that pass. */
static void refusals(void)
{
	struct druid_policy *p = NULL;
	struct rb_err err = {0};
	CHECK(druid_policy_new(&p, "rb_flow, other", T_MS, &err) == RB_OK);
	static const char agg[] = ",\"aggregations\":[{\"type\":\"count\",\"name\":\"n\"}]";
	static const struct {
		const char *ds;
		const char *rest;
		const char *msg; /* NULL: passes */
	} cases[] = {
		/* data sources */
		{"\"rb_flow\"", agg, NULL},
		{"\"other\"", "", NULL},
		{"{\"type\":\"table\",\"name\":\"rb_flow\"}", "", NULL},
		{"{\"type\":\"TABLE\",\"name\":\"rb_flow\"}", "", NULL},
		{"{\"type\":\"union\",\"dataSources\":[\"rb_flow\",{\"type\":\"table\",\"name\":"
		 "\"other\"}]}", "", NULL},
		{"\"secret\"", "", "dataSource 'secret' is not in druid_datasources"},
		{"\"RB_FLOW\"", "", "dataSource 'RB_FLOW' is not in druid_datasources"},
		{"{\"type\":\"table\",\"name\":\"secret\"}", "",
		 "dataSource 'secret' is not in druid_datasources"},
		{"{\"type\":\"table\"}", "", "dataSource of type 'table' has no name"},
		{"{\"type\":\"lookup\",\"lookup\":\"users\"}", "",
		 "dataSource of type 'lookup' is not allowed (only tables named in druid_datasources)"},
		{"{\"type\":\"query\",\"query\":{\"queryType\":\"scan\",\"dataSource\":\"rb_flow\"}}", "",
		 "dataSource of type 'query' is not allowed"},
		{"{\"type\":\"inline\",\"columnNames\":[\"a\"],\"rows\":[[1]]}", "",
		 "dataSource of type 'inline' is not allowed"},
		{"{\"type\":\"external\",\"inputSource\":{\"type\":\"http\",\"uris\":[\"http://x/\"]}}",
		 "", "dataSource of type 'external' is not allowed"},
		{"{\"type\":\"join\",\"left\":\"rb_flow\",\"right\":\"other\",\"rightPrefix\":\"r.\","
		 "\"condition\":\"1\",\"joinType\":\"INNER\"}", "",
		 "dataSource of type 'join' is not allowed"},
		{"{\"type\":\"unnest\",\"base\":\"rb_flow\"}", "",
		 "dataSource of type 'unnest' is not allowed"},
		{"{\"type\":\"union\",\"dataSources\":[\"rb_flow\",\"secret\"]}", "",
		 "dataSource 'secret' is not in druid_datasources"},
		{"{\"type\":\"union\",\"dataSources\":[\"rb_flow\",{\"type\":\"lookup\",\"lookup\":"
		 "\"u\"}]}", "", "may only list tables (dataSources[1] is not one)"},
		{"{\"type\":\"union\",\"dataSources\":[]}", "", "has no dataSources list"},
		{"{\"type\":\"union\"}", "", "has no dataSources list"},
		{"{\"name\":\"rb_flow\"}", "", "query dataSource object has no type"},
		{"7", "", "query dataSource must be a table name"},
		{"\"s\\u0001\\n<b>\"", "", "dataSource 's <b>' is not in druid_datasources"},
		/* javascript, at the top and nested */
		{"\"rb_flow\"",
		 ",\"aggregations\":[{\"type\":\"javascript\",\"name\":\"x\",\"fieldNames\":[],"
		 "\"fnAggregate\":\"\",\"fnCombine\":\"\",\"fnReset\":\"\"}]",
		 "javascript is not allowed in a query (aggregations[0] has type \"javascript\")"},
		{"\"rb_flow\"", ",\"filter\":{\"type\":\"JavaScript\",\"dimension\":\"d\",\"function\":\"f\"}",
		 "(filter has type \"JavaScript\")"},
		{"\"rb_flow\"",
		 ",\"filter\":{\"type\":\"not\",\"field\":{\"type\":\"or\",\"fields\":[{\"type\":"
		 "\"selector\",\"dimension\":\"a\",\"value\":\"b\"},{\"type\":\"and\",\"fields\":[{"
		 "\"type\":\"javascript\",\"dimension\":\"d\",\"function\":\"f\"}]}]}}",
		 "(filter.field.fields[1].fields[0] has type \"javascript\")"},
		{"\"rb_flow\"",
		 ",\"aggregations\":[{\"type\":\"filtered\",\"filter\":{\"type\":\"selector\","
		 "\"dimension\":\"d\",\"value\":\"v\",\"extractionFn\":{\"type\":\"javascript\","
		 "\"function\":\"f\"}},\"aggregator\":{\"type\":\"count\",\"name\":\"n\"}}]",
		 "(aggregations[0].filter.extractionFn has type \"javascript\")"},
		{"\"rb_flow\"",
		 ",\"postAggregations\":[{\"type\":\"arithmetic\",\"name\":\"r\",\"fn\":\"/\","
		 "\"fields\":[{\"type\":\"fieldAccess\",\"fieldName\":\"n\"},{\"type\":\"javascript\","
		 "\"name\":\"j\",\"fieldNames\":[\"n\"],\"function\":\"f\"}]}]",
		 "(postAggregations[0].fields[1] has type \"javascript\")"},
		{"\"rb_flow\"", ",\"virtualColumns\":[{\"type\":\"javascript\"}]",
		 "(virtualColumns[0] has type \"javascript\")"},
		{"{\"type\":\"query\",\"query\":{\"filter\":{\"type\":\"javascript\"}}}", "",
		 "(dataSource.query.filter has type \"javascript\")"},
		/* "javascript" as a value elsewhere is not code */
		{"\"rb_flow\"", ",\"filter\":{\"type\":\"selector\",\"dimension\":\"type\","
		 "\"value\":\"javascript\"}", NULL},
		{"\"rb_flow\"", ",\"filter\":{\"type\":[\"javascript\"]}", NULL},
		/* keys the policy reads, in another case */
		{"\"rb_flow\"", ",\"DataSource\":\"secret\"",
		 "query key 'DataSource' is not allowed (write dataSource)"},
		{"\"rb_flow\"", ",\"CONTEXT\":{\"priority\":1}",
		 "query key 'CONTEXT' is not allowed (write context)"},
		/* context */
		{"\"rb_flow\"", ",\"context\":{\"timeout\":1000,\"skipEmptyBuckets\":\"true\"}", NULL},
		{"\"rb_flow\"", ",\"context\":[]", "query context must be an object"},
		{"\"rb_flow\"", ",\"context\":{\"priority\":10}",
		 "query context.priority is not allowed (the service, not the client, decides"},
		{"\"rb_flow\"", ",\"context\":{\"lane\":\"x\"}", "query context.lane is not allowed"},
		{"\"rb_flow\"", ",\"context\":{\"brokerService\":\"x\"}",
		 "query context.brokerService is not allowed"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *q = query(cases[i].ds, cases[i].rest);
		memset(&err, 0, sizeof err);
		enum rb_code rc = druid_policy_check(p, q, &err);
		if (cases[i].msg == NULL)
			CHECKF(rc == RB_OK, "case %zu: %s", i, err.msg);
		else
			CHECKF(rc == RB_E_INPUT && strstr(err.msg, cases[i].msg) != NULL,
			       "case %zu: %d '%s', wanted '%s'", i, rc, err.msg, cases[i].msg);
		/* apply refuses the same and leaves a refused query as it was */
		json_t *copy = json_deep_copy(q);
		int changed = -1;
		rc = druid_policy_apply(p, q, &changed, &err);
		CHECK((rc == RB_OK) == (cases[i].msg == NULL));
		if (rc != RB_OK)
			CHECK(json_equal(q, copy) && changed == 0);
		json_decref(copy);
		json_decref(q);
	}
	/* A name with a NUL (only built in memory: the parser refuses \u0000) is not "rb_flow". */
	json_t *nul = query("\"x\"", "");
	json_object_set_new(nul, "dataSource", json_stringn("rb_flow\0x", 9));
	CHECK(druid_policy_check(p, nul, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "dataSource 'rb_flow x' is not in") != NULL, "%s", err.msg);
	json_decref(nul);
	json_t *arr = load("[1]");
	CHECK(druid_policy_check(p, arr, &err) == RB_E_INPUT);
	json_decref(arr);
	json_t *nods = load("{\"queryType\":\"timeseries\"}");
	CHECK(druid_policy_check(p, nods, &err) == RB_E_INPUT && strstr(err.msg, "no dataSource"));
	json_decref(nods);
	druid_policy_free(p);
}

/* context.timeout: kept when 1..T, set to T when absent, 0 or larger, refused otherwise. */
static void timeouts(void)
{
	struct druid_policy *p = NULL;
	struct rb_err err = {0};
	CHECK(druid_policy_new(&p, "rb_flow", T_MS, &err) == RB_OK);
	static const struct {
		const char *rest;
		int changed;       /* -1: refused */
		const char *want;  /* the context after apply */
	} cases[] = {
		{"", 1, "{\"timeout\":30000}"},
		{",\"context\":{}", 1, "{\"timeout\":30000}"},
		{",\"context\":{\"skipEmptyBuckets\":\"true\"}", 1,
		 "{\"skipEmptyBuckets\":\"true\",\"timeout\":30000}"},
		{",\"context\":{\"timeout\":90000,\"skipEmptyBuckets\":\"true\"}", 1,
		 "{\"timeout\":30000,\"skipEmptyBuckets\":\"true\"}"},
		{",\"context\":{\"timeout\":30000}", 0, "{\"timeout\":30000}"},
		{",\"context\":{\"timeout\":30001}", 1, "{\"timeout\":30000}"},
		{",\"context\":{\"timeout\":1}", 0, "{\"timeout\":1}"},
		{",\"context\":{\"timeout\":0}", 1, "{\"timeout\":30000}"},
		{",\"context\":{\"timeout\":\"5000\"}", 0, "{\"timeout\":\"5000\"}"},
		{",\"context\":{\"timeout\":\"900000\"}", 1, "{\"timeout\":30000}"},
		{",\"context\":{\"timeout\":\"0\"}", 1, "{\"timeout\":30000}"},
		{",\"context\":{\"timeout\":9223372036854775807}", 1, "{\"timeout\":30000}"},
		{",\"context\":{\"timeout\":-1}", -1, NULL},
		{",\"context\":{\"timeout\":1.5}", -1, NULL},
		{",\"context\":{\"timeout\":true}", -1, NULL},
		{",\"context\":{\"timeout\":null}", -1, NULL},
		{",\"context\":{\"timeout\":\"\"}", -1, NULL},
		{",\"context\":{\"timeout\":\"5s\"}", -1, NULL},
		{",\"context\":{\"timeout\":\"-5\"}", -1, NULL},
		{",\"context\":{\"timeout\":\"1234567890123456789\"}", -1, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *q = query("\"rb_flow\"", cases[i].rest);
		int changed = -1;
		enum rb_code rc = druid_policy_apply(p, q, &changed, &err);
		if (cases[i].changed < 0) {
			CHECKF(rc == RB_E_INPUT &&
			               strstr(err.msg, "context.timeout must be a whole number") != NULL,
			       "case %zu: %s", i, err.msg);
		} else {
			CHECKF(rc == RB_OK && changed == cases[i].changed, "case %zu: %d %d %s", i, rc,
			       changed, err.msg);
			json_t *want = load(cases[i].want);
			char *got = json_dumps(json_object_get(q, "context"), JSON_COMPACT);
			CHECKF(json_equal(json_object_get(q, "context"), want), "case %zu: %s", i, got);
			free(got);
			json_decref(want);
			/* applying again changes nothing */
			CHECK(druid_policy_apply(p, q, &changed, &err) == RB_OK && changed == 0);
		}
		json_decref(q);
	}
	druid_policy_free(p);
}

/* A query nested n levels deep in memory: {"queryType":..,"filter":{"f":{"f":...}}}. */
static json_t *deep_query(size_t n, const char *innermost_type)
{
	json_t *q = query("\"rb_flow\"", "");
	json_t *inner = json_object();
	json_object_set_new(inner, "type", json_string(innermost_type));
	for (size_t i = 2; i < n; i++) {
		json_t *outer = json_object();
		CHECK(outer != NULL && json_object_set_new(outer, "f", inner) == 0);
		inner = outer;
	}
	CHECK(json_object_set_new(q, "filter", inner) == 0);
	return q;
}

static void depth(void)
{
	struct druid_policy *p = NULL;
	struct rb_err err = {0};
	CHECK(druid_policy_new(&p, "rb_flow", T_MS, &err) == RB_OK);
	/* the query is level 1: DRUID_QUERY_MAX_DEPTH levels pass, one more does not */
	json_t *q = deep_query(DRUID_QUERY_MAX_DEPTH, "selector");
	CHECKF(druid_policy_check(p, q, &err) == RB_OK, "%s", err.msg);
	json_decref(q);
	q = deep_query(DRUID_QUERY_MAX_DEPTH, "javascript");
	CHECK(druid_policy_check(p, q, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "(filter.f.f.f.f.f.f") != NULL &&
	               strstr(err.msg, ".f... has type \"javascript\")") != NULL,
	       "%s", err.msg); /* the path, cut, and nothing after the cut */
	json_decref(q);
	q = deep_query(DRUID_QUERY_MAX_DEPTH + 1, "selector");
	CHECK(druid_policy_check(p, q, &err) == RB_E_TOO_LARGE);
	CHECKF(strstr(err.msg, "nests deeper than 64 levels") != NULL, "%s", err.msg);
	json_decref(q);
	/* hostile: 5000 levels (past Jansson's own parser cap of 2048), refused at level 65 */
	q = deep_query(5000, "javascript");
	CHECK(druid_policy_check(p, q, &err) == RB_E_TOO_LARGE);
	int changed = 0;
	CHECK(druid_policy_apply(p, q, &changed, &err) == RB_E_TOO_LARGE && changed == 0);
	json_decref(q);
	/* deep arrays too */
	q = query("\"rb_flow\"", "");
	json_t *a = json_array();
	for (size_t i = 0; i < 200; i++) {
		json_t *outer = json_array();
		json_array_append_new(outer, a);
		a = outer;
	}
	json_object_set_new(q, "virtualColumns", a);
	CHECK(druid_policy_check(p, q, &err) == RB_E_TOO_LARGE);
	json_decref(q);
	druid_policy_free(p);
}

static void prepare(void)
{
	struct druid_policy *p = NULL;
	struct rb_err err = {0};
	CHECK(druid_policy_new(&p, "rb_flow", T_MS, &err) == RB_OK);
	struct druid_history h;
	char *body = NULL;
	size_t blen = 0;
	/* Nothing to change: the client's bytes, spacing and all. */
	const char *ok = "{ \"queryType\":\"timeseries\", \"dataSource\":\"rb_flow\",\"granularity\":"
	                 "\"minute\",\"intervals\":\"2023-09-21/2023-09-22\",\"context\":{\"timeout\""
	                 ":2000} }";
	CHECK(druid_query_prepare_policy(ok, strlen(ok), NULL, p, 0, 0, 0, &h, &body, &blen, &err) ==
	      RB_OK);
	CHECK(blen == strlen(ok) && strcmp(body, ok) == 0);
	free(body);
	/* The timeout lowered: the query re-written, everything else equal. */
	const char *high = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"granularity\":"
	                   "\"minute\",\"intervals\":\"2023-09-21/2023-09-22\",\"context\":{"
	                   "\"timeout\":90000}}";
	CHECK(druid_query_prepare_policy(high, strlen(high), NULL, p, 0, 0, 0, &h, &body, &blen,
	                                 &err) == RB_OK);
	CHECKF(strstr(body, "\"context\":{\"timeout\":30000}") != NULL, "%s", body);
	json_t *got = load(body), *want = load(high);
	json_object_set_new(json_object_get(want, "context"), "timeout", json_integer(T_MS));
	CHECK(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	free(body);
	/* Without a policy: the bytes as before. */
	CHECK(druid_query_prepare_policy(high, strlen(high), NULL, NULL, 0, 0, 0, &h, &body, &blen,
	                                 &err) == RB_OK);
	CHECK(strcmp(body, high) == 0);
	free(body);
	/* With history the extended query carries the clamp too. */
	CHECK(druid_query_prepare_policy(high, strlen(high), NULL, p, 0, 3600000, 100, &h, &body,
	                                 &blen, &err) == RB_OK);
	CHECKF(h.history_ms > 0 && strstr(body, "\"timeout\":30000") != NULL, "%s", body);
	free(body);
	/* Refused before history or the template are looked at. */
	const char *bad = "{\"queryType\":\"timeseries\",\"dataSource\":\"secret\",\"granularity\":"
	                  "\"minute\",\"intervals\":\"2023-09-21/2023-09-22\"}";
	CHECK(druid_query_prepare_policy(bad, strlen(bad), NULL, p, 0, 3600000, 100, &h, &body,
	                                 &blen, &err) == RB_E_INPUT && body == NULL);
	CHECK(strstr(err.msg, "dataSource 'secret' is not in druid_datasources") != NULL);

	/* The model path: the client's javascript is refused even though the rewrite replaces its
	 * aggregations, and the template's part is checked in the rewritten query. */
	size_t len;
	char *text = tu_read_file(tu_source("models/traffic.druid.json"), &len);
	struct druid_template *t = NULL;
	CHECK(druid_template_parse(&t, text, len, "traffic", &err) == RB_OK);
	free(text);
	const char *js = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"granularity\":"
	                 "\"minute\",\"intervals\":\"2023-09-21/2023-09-22\",\"aggregations\":[{"
	                 "\"type\":\"javascript\",\"name\":\"x\"}]}";
	CHECK(druid_query_prepare_policy(js, strlen(js), t, p, 0, 0, 0, &h, &body, &blen, &err) ==
	      RB_E_INPUT);
	CHECK(strstr(err.msg, "javascript is not allowed") != NULL);
	CHECK(druid_query_prepare_policy(ok, strlen(ok), t, p, 0, 0, 0, &h, &body, &blen, &err) ==
	      RB_OK);
	CHECK(strstr(body, "\"hyperUnique\"") != NULL && strstr(body, "\"timeout\":2000") != NULL);
	free(body);
	druid_template_free(t);
	const char *jst = "{\"version\":1,\"aggregations\":[{\"type\":\"javascript\",\"name\":"
	                  "\"x\"}]}";
	CHECK(druid_template_parse(&t, jst, strlen(jst), "js", &err) == RB_OK);
	CHECK(druid_query_prepare_policy(ok, strlen(ok), t, p, 0, 0, 0, &h, &body, &blen, &err) ==
	      RB_E_INPUT && body == NULL);
	CHECKF(strstr(err.msg, "(aggregations[0] has type \"javascript\")") != NULL, "%s", err.msg);
	druid_template_free(t);
	druid_policy_free(p);
}

int main(void)
{
	names_and_lists();
	templates();
	refusals();
	timeouts();
	depth();
	prepare();
	return 0;
}
