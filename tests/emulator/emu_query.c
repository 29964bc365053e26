/*
 * emu_query: the query engine of rb-druid-emulator (a test and demo fixture).
 * A Druid native timeseries query (JSON) is validated into a plan, evaluated
 * over the generated rb_flow rows (emu_data.c) and printed as Druid prints the
 * result. Everything the emulator does not implement is refused with a
 * Druid-shaped error naming it; nothing is silently ignored except what Druid
 * itself ignores (unknown top-level keys such as limitSpec, context hints).
 *
 * Key idea: filters only look at dimensions, and the dimension values of a
 * series never change, so every filter compiles to a bitmask of series.
 * Not here: HTTP (emu_http.c), the dataset (emu_data.c), calendars (emu_time.c).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"

/* Bound on granularity lengths and numeric origins (about 31,700 years) so bucket arithmetic cannot overflow. */
#define EMU_MAX_SPAN_MS 1000000000000000LL

/* ------------------------------------------------------------------ plan */

enum agg_kind {
	AGG_COUNT,
	AGG_LONGSUM,
	AGG_DOUBLESUM,
	AGG_LONGMIN,
	AGG_LONGMAX,
	AGG_DOUBLEMIN,
	AGG_DOUBLEMAX,
	AGG_HYPERUNIQUE,
	AGG_CARDINALITY
};

struct agg {
	enum agg_kind kind;
	const char *name;      /* borrowed from the query JSON (alive for the plan) */
	int metric;            /* enum emu_metric, or -1 for a column rb_flow lacks (reads as 0) */
	int fields[EMU_NDIMS]; /* cardinality: dimension columns (-1: missing column) */
	int nfields;
	int by_row;
	int round;             /* hyperUnique/cardinality: output a long */
	uint64_t mask;         /* series this aggregator sees (query filter & own filter) */
};

enum val_type { V_NULL, V_LONG, V_DOUBLE };

struct val {
	enum val_type t;
	int64_t l;
	double d;
};

enum pkind { P_ARITH, P_FIELD, P_FINALIZING, P_CONSTANT, P_HUCARD };
enum pfn { FN_PLUS, FN_MINUS, FN_MUL, FN_DIV, FN_QUOTIENT, FN_POW };

struct pnode {
	enum pkind kind;
	enum pfn fn;
	int kid0, nkids;  /* P_ARITH: children are kids[kid0 .. kid0+nkids) */
	int ref_post;     /* P_FIELD/P_FINALIZING: 1 = refers to a top-level post-aggregator */
	int ref;          /* aggregator or post-aggregator index */
	struct val cval;  /* P_CONSTANT */
	int round;        /* P_HUCARD */
};

enum gkind { G_ALL, G_FIXED };

struct gran {
	enum gkind kind;
	int64_t period;       /* G_FIXED: bucket length, ms */
	int64_t origin;       /* G_FIXED: a bucket boundary, UTC ms */
	int64_t print_offset; /* zone offset for printed timestamps */
};

struct interval {
	int64_t start, end;
};

/* One stretch of minutes [from, to) that belongs to the bucket starting at `bucket`. */
struct seg {
	int64_t bucket, from, to;
};

struct plan {
	json_t *root; /* new reference; every borrowed string points into it */
	int no_data;  /* dataSource is not rb_flow: Druid answers as for an empty table */
	struct interval *iv;
	size_t niv;
	struct gran g;
	uint64_t mask; /* series passing the query filter */
	struct agg aggs[EMU_MAX_AGGS];
	int naggs;
	struct pnode nodes[EMU_MAX_POSTAGG_NODES];
	int kids[EMU_MAX_POSTAGG_NODES];
	int nnodes, nkids;
	int top[EMU_MAX_POSTAGG_NODES]; /* node index of each top-level post-aggregator */
	const char *top_name[EMU_MAX_POSTAGG_NODES];
	int ntop;
	int descending;
	int skip_empty;
	int64_t limit; /* 0 = none */
	int filter_nodes;
	int groupby;          /* queryType groupBy: one row per (bucket, value of group_dim) */
	int group_dim;        /* groupBy: the dimension (enum emu_dim), -1 none or not in rb_flow */
	const char *group_out; /* groupBy: its output name (NULL: no dimension) */
};

static void plan_free(struct plan *p)
{
	json_decref(p->root);
	free(p->iv);
}

/* ------------------------------------------------------- JSON coercions */

/* Jackson-like boolean: true/false, "true"/"false" (any case), null = dflt. */
static int get_bool(const json_t *v, int dflt, int *out, const char *what, struct emu_err *err)
{
	if (v == NULL || json_is_null(v)) {
		*out = dflt;
		return 0;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_string(v)) {
		*out = strcasecmp(json_string_value(v), "true") == 0;
		return 0;
	}
	return emu_fail(err, EMU_E_PARSE, "Cannot deserialize %s: expected a boolean", what);
}

/* Jackson-like long: an integer, or a string holding one. */
static int get_long(const json_t *v, long long *out, const char *what, struct emu_err *err)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end = NULL;
		errno = 0;
		long long x = strtoll(s, &end, 10);
		if (errno == 0 && end != s && *end == '\0') {
			*out = x;
			return 0;
		}
	}
	return emu_fail(err, EMU_E_PARSE, "Cannot deserialize %s: expected an integer", what);
}

/* A required string member; numbers are not coerced (a name must be text). */
static const char *get_str(const json_t *obj, const char *key, const char *what, struct emu_err *err)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v)) {
		emu_fail(err, EMU_E_PARSE, "%s: missing or non-string \"%s\"", what, key);
		return NULL;
	}
	return json_string_value(v);
}

/* Rejects nesting deeper than max before Jansson sees the text. */
static int depth_ok(const char *s, size_t len, int max)
{
	int depth = 0, in_str = 0, esc = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 0;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 1;
}

/* --------------------------------------------------------------- filters */

/* The dimension value of a series, or NULL when the column does not exist. */
static const char *series_value(int s, int dim)
{
	return dim < 0 ? NULL : emu_data_dim(s, (enum emu_dim)dim);
}

/* Selector semantics: null and "" are the same value (Druid's default-value mode). */
static int value_eq(const char *have, const char *want)
{
	if (want == NULL || want[0] == '\0')
		return have == NULL || have[0] == '\0';
	return have != NULL && strcmp(have, want) == 0;
}

/* A filter value as Jackson would read it into a String: strings, numbers, null. */
static int filter_value(const json_t *v, char *buf, size_t bufsz, const char **out, struct emu_err *err)
{
	if (v == NULL || json_is_null(v)) {
		*out = NULL;
	} else if (json_is_string(v)) {
		*out = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(buf, bufsz, "%lld", (long long)json_integer_value(v));
		*out = buf;
	} else {
		return emu_fail(err, EMU_E_PARSE, "filter value must be a string, a number or null");
	}
	return 0;
}

static int parse_double_full(const char *s, double *out)
{
	if (s == NULL || *s == '\0')
		return -1;
	char *end = NULL;
	errno = 0;
	double d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

static int reject_extraction(const json_t *f, const char *type, struct emu_err *err)
{
	const json_t *x = json_object_get(f, "extractionFn");
	if (x != NULL && !json_is_null(x))
		return emu_fail(err, EMU_E_UNSUPPORTED,
		                "rb-druid-emulator: extractionFn in a %s filter is not supported", type);
	return 0;
}

static int compile_filter(struct plan *p, const json_t *f, uint64_t *mask, struct emu_err *err);

static int compile_bound(const json_t *f, uint64_t *mask, struct emu_err *err)
{
	const char *dimname = get_str(f, "dimension", "bound filter", err);
	if (dimname == NULL || reject_extraction(f, "bound", err))
		return -1;
	int dim = emu_data_dim_by_name(dimname);
	int numeric = 0;
	const json_t *ord = json_object_get(f, "ordering");
	const char *ordname = "lexicographic";
	if (json_is_string(ord))
		ordname = json_string_value(ord);
	else if (json_is_object(ord) && json_is_string(json_object_get(ord, "type")))
		ordname = json_string_value(json_object_get(ord, "type"));
	else if (ord != NULL && !json_is_null(ord))
		return emu_fail(err, EMU_E_PARSE, "bound filter: bad \"ordering\"");
	int alpha = 0;
	if (get_bool(json_object_get(f, "alphaNumeric"), 0, &alpha, "bound.alphaNumeric", err))
		return -1;
	if (alpha)
		ordname = "alphanumeric";
	if (strcasecmp(ordname, "numeric") == 0)
		numeric = 1;
	else if (strcasecmp(ordname, "lexicographic") != 0)
		return emu_fail(err, EMU_E_UNSUPPORTED,
		                "rb-druid-emulator: bound ordering \"%s\" is not supported (lexicographic, numeric)",
		                ordname);
	char lb[32], ub[32];
	const char *lower = NULL, *upper = NULL;
	if (filter_value(json_object_get(f, "lower"), lb, sizeof lb, &lower, err) ||
	    filter_value(json_object_get(f, "upper"), ub, sizeof ub, &upper, err))
		return -1;
	int lstrict = 0, ustrict = 0;
	if (get_bool(json_object_get(f, "lowerStrict"), 0, &lstrict, "bound.lowerStrict", err) ||
	    get_bool(json_object_get(f, "upperStrict"), 0, &ustrict, "bound.upperStrict", err))
		return -1;
	if (lower == NULL && upper == NULL)
		return emu_fail(err, EMU_E_PARSE, "bound filter: lower and upper bounds cannot be both null");
	double lnum = 0, unum = 0;
	if (numeric && ((lower != NULL && parse_double_full(lower, &lnum)) ||
	                (upper != NULL && parse_double_full(upper, &unum))))
		return emu_fail(err, EMU_E_PARSE, "bound filter: numeric ordering needs numeric bounds");
	*mask = 0;
	for (int s = 0; s < emu_data_nseries(); s++) {
		const char *v = series_value(s, dim);
		if (v == NULL)
			continue; /* a missing column never satisfies a bound */
		int ok = 1;
		if (numeric) {
			double x;
			if (parse_double_full(v, &x)) {
				ok = 0;
			} else {
				if (lower != NULL)
					ok &= lstrict ? x > lnum : x >= lnum;
				if (upper != NULL)
					ok &= ustrict ? x < unum : x <= unum;
			}
		} else {
			if (lower != NULL) {
				int c = strcmp(v, lower);
				ok &= lstrict ? c > 0 : c >= 0;
			}
			if (upper != NULL) {
				int c = strcmp(v, upper);
				ok &= ustrict ? c < 0 : c <= 0;
			}
		}
		if (ok)
			*mask |= 1ULL << s;
	}
	return 0;
}

static int compile_filter(struct plan *p, const json_t *f, uint64_t *mask, struct emu_err *err)
{
	if (++p->filter_nodes > EMU_MAX_FILTER_NODES)
		return emu_fail(err, EMU_E_LIMIT, "rb-druid-emulator: more than %d filter nodes",
		                EMU_MAX_FILTER_NODES);
	if (!json_is_object(f))
		return emu_fail(err, EMU_E_PARSE, "filter must be a JSON object");
	const char *type = get_str(f, "type", "filter", err);
	if (type == NULL)
		return -1;
	uint64_t all = (emu_data_nseries() >= 64) ? ~0ULL : ((1ULL << emu_data_nseries()) - 1);
	char vb[32];
	if (strcmp(type, "selector") == 0) {
		const char *dimname = get_str(f, "dimension", "selector filter", err);
		if (dimname == NULL || reject_extraction(f, "selector", err))
			return -1;
		const char *want = NULL;
		if (filter_value(json_object_get(f, "value"), vb, sizeof vb, &want, err))
			return -1;
		int dim = emu_data_dim_by_name(dimname);
		*mask = 0;
		for (int s = 0; s < emu_data_nseries(); s++)
			if (value_eq(series_value(s, dim), want))
				*mask |= 1ULL << s;
		return 0;
	}
	if (strcmp(type, "in") == 0) {
		const char *dimname = get_str(f, "dimension", "in filter", err);
		if (dimname == NULL || reject_extraction(f, "in", err))
			return -1;
		const json_t *vals = json_object_get(f, "values");
		if (!json_is_array(vals))
			return emu_fail(err, EMU_E_PARSE, "in filter: \"values\" must be an array");
		int dim = emu_data_dim_by_name(dimname);
		*mask = 0;
		size_t i;
		const json_t *v;
		json_array_foreach(vals, i, v) {
			const char *want = NULL;
			if (filter_value(v, vb, sizeof vb, &want, err))
				return -1;
			for (int s = 0; s < emu_data_nseries(); s++)
				if (value_eq(series_value(s, dim), want))
					*mask |= 1ULL << s;
		}
		return 0;
	}
	if (strcmp(type, "and") == 0 || strcmp(type, "or") == 0) {
		int is_and = type[0] == 'a';
		const json_t *fields = json_object_get(f, "fields");
		if (!json_is_array(fields) || json_array_size(fields) == 0)
			return emu_fail(err, EMU_E_PARSE, "%s filter: \"fields\" must be a non-empty array", type);
		*mask = is_and ? all : 0;
		size_t i;
		const json_t *sub;
		json_array_foreach(fields, i, sub) {
			uint64_t m;
			if (compile_filter(p, sub, &m, err))
				return -1;
			*mask = is_and ? (*mask & m) : (*mask | m);
		}
		return 0;
	}
	if (strcmp(type, "not") == 0) {
		uint64_t m;
		if (compile_filter(p, json_object_get(f, "field"), &m, err))
			return -1;
		*mask = all & ~m;
		return 0;
	}
	if (strcmp(type, "bound") == 0)
		return compile_bound(f, mask, err);
	if (strcmp(type, "true") == 0) {
		*mask = all;
		return 0;
	}
	if (strcmp(type, "false") == 0) {
		*mask = 0;
		return 0;
	}
	static const char *const KNOWN[] = {"like", "regex", "search", "javascript", "spatial", "interval",
	                                    "columnComparison", "expression", "equals", "null", "range",
	                                    "arrayContainsElement", "isfalse", "istrue"};
	for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
		if (strcmp(type, KNOWN[i]) == 0)
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: filter type \"%s\" is not supported "
			                "(selector, in, bound, and, or, not, true, false)",
			                type);
	return emu_fail(err, EMU_E_PARSE, "Could not resolve type id '%s' as a subtype of DimFilter", type);
}

/* ----------------------------------------------------------- aggregators */

static const struct {
	const char *type;
	enum agg_kind kind;
} AGG_TYPES[] = {
	{"count", AGG_COUNT},         {"longSum", AGG_LONGSUM},       {"doubleSum", AGG_DOUBLESUM},
	{"floatSum", AGG_DOUBLESUM},  {"longMin", AGG_LONGMIN},       {"longMax", AGG_LONGMAX},
	{"doubleMin", AGG_DOUBLEMIN}, {"doubleMax", AGG_DOUBLEMAX},   {"floatMin", AGG_DOUBLEMIN},
	{"floatMax", AGG_DOUBLEMAX},  {"hyperUnique", AGG_HYPERUNIQUE}, {"cardinality", AGG_CARDINALITY},
};

static int is_sketch(enum agg_kind k)
{
	return k == AGG_HYPERUNIQUE || k == AGG_CARDINALITY;
}

static int compile_agg(struct plan *p, const json_t *a, uint64_t mask, int depth, struct emu_err *err)
{
	if (!json_is_object(a))
		return emu_fail(err, EMU_E_PARSE, "aggregator must be a JSON object");
	const char *type = get_str(a, "type", "aggregator", err);
	if (type == NULL)
		return -1;
	if (strcmp(type, "filtered") == 0) {
		if (depth > 4)
			return emu_fail(err, EMU_E_LIMIT, "rb-druid-emulator: filtered aggregators nested too deep");
		uint64_t m;
		if (compile_filter(p, json_object_get(a, "filter"), &m, err))
			return -1;
		int before = p->naggs;
		if (compile_agg(p, json_object_get(a, "aggregator"), mask & m, depth + 1, err))
			return -1;
		const json_t *name = json_object_get(a, "name");
		if (json_is_string(name))
			p->aggs[before].name = json_string_value(name);
		return 0;
	}
	if (p->naggs >= EMU_MAX_AGGS)
		return emu_fail(err, EMU_E_LIMIT, "rb-druid-emulator: more than %d aggregators", EMU_MAX_AGGS);
	struct agg *g = &p->aggs[p->naggs];
	memset(g, 0, sizeof *g);
	size_t i;
	for (i = 0; i < sizeof AGG_TYPES / sizeof AGG_TYPES[0]; i++)
		if (strcmp(type, AGG_TYPES[i].type) == 0)
			break;
	if (i == sizeof AGG_TYPES / sizeof AGG_TYPES[0]) {
		static const char *const KNOWN[] = {"javascript", "thetaSketch", "HLLSketchBuild", "HLLSketchMerge",
		                                    "quantilesDoublesSketch", "longFirst", "longLast",
		                                    "doubleFirst", "doubleLast", "floatFirst", "floatLast",
		                                    "stringFirst", "stringLast", "longAny", "doubleAny",
		                                    "stringAny", "histogram", "approxHistogram",
		                                    "expression", "grouping", "doubleMean"};
		for (size_t k = 0; k < sizeof KNOWN / sizeof KNOWN[0]; k++)
			if (strcmp(type, KNOWN[k]) == 0)
				return emu_fail(err, EMU_E_UNSUPPORTED,
				                "rb-druid-emulator: aggregator type \"%s\" is not supported", type);
		return emu_fail(err, EMU_E_PARSE, "Could not resolve type id '%s' as a subtype of AggregatorFactory",
		                type);
	}
	g->kind = AGG_TYPES[i].kind;
	g->mask = mask;
	g->name = get_str(a, "name", "aggregator", err);
	if (g->name == NULL)
		return -1;
	const json_t *expr = json_object_get(a, "expression");
	if (expr != NULL && !json_is_null(expr))
		return emu_fail(err, EMU_E_UNSUPPORTED,
		                "rb-druid-emulator: \"expression\" in aggregator \"%s\" is not supported", g->name);
	if (g->kind == AGG_CARDINALITY) {
		const json_t *fields = json_object_get(a, "fields");
		if (!json_is_array(fields) || json_array_size(fields) == 0)
			return emu_fail(err, EMU_E_PARSE, "cardinality \"%s\": \"fields\" must be a non-empty array",
			                g->name);
		if (json_array_size(fields) > EMU_NDIMS)
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: cardinality over more than %d fields", EMU_NDIMS);
		size_t k;
		const json_t *fld;
		json_array_foreach(fields, k, fld) {
			const char *dn = NULL;
			if (json_is_string(fld)) {
				dn = json_string_value(fld);
			} else if (json_is_object(fld)) {
				const json_t *t = json_object_get(fld, "type");
				if (t != NULL && !(json_is_string(t) && strcmp(json_string_value(t), "default") == 0))
					return emu_fail(err, EMU_E_UNSUPPORTED,
					                "rb-druid-emulator: only default dimension specs in cardinality");
				dn = get_str(fld, "dimension", "cardinality field", err);
				if (dn == NULL)
					return -1;
			} else {
				return emu_fail(err, EMU_E_PARSE, "cardinality \"%s\": bad field", g->name);
			}
			g->fields[g->nfields++] = emu_data_dim_by_name(dn);
		}
		if (get_bool(json_object_get(a, "byRow"), 0, &g->by_row, "cardinality.byRow", err) ||
		    get_bool(json_object_get(a, "round"), 0, &g->round, "cardinality.round", err))
			return -1;
		p->naggs++;
		return 0;
	}
	if (g->kind == AGG_COUNT) {
		g->metric = -1;
		p->naggs++;
		return 0;
	}
	const char *field = get_str(a, "fieldName", "aggregator", err);
	if (field == NULL)
		return -1;
	g->metric = emu_data_metric_by_name(field);
	if (g->kind == AGG_HYPERUNIQUE) {
		if (get_bool(json_object_get(a, "round"), 0, &g->round, "hyperUnique.round", err))
			return -1;
		if (g->metric != EMU_MET_CLIENTS)
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: hyperUnique \"%s\" over \"%s\": only the hyperUnique "
			                "column \"clients\" is supported",
			                g->name, field);
	} else {
		if (g->metric == EMU_MET_CLIENTS)
			return emu_fail(err, EMU_E_PARSE,
			                "Unsupported type: numeric aggregator \"%s\" over complex column \"clients\"",
			                g->name);
		if (g->metric < 0 && emu_data_dim_by_name(field) >= 0)
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: numeric aggregator \"%s\" over string dimension \"%s\"",
			                g->name, field);
	}
	p->naggs++;
	return 0;
}

/* ------------------------------------------------------ post-aggregators */

static int find_agg(const struct plan *p, const char *name)
{
	for (int i = 0; i < p->naggs; i++)
		if (strcmp(p->aggs[i].name, name) == 0)
			return i;
	return -1;
}

static int find_post(const struct plan *p, const char *name)
{
	for (int i = 0; i < p->ntop; i++)
		if (p->top_name[i] != NULL && strcmp(p->top_name[i], name) == 0)
			return i;
	return -1;
}

/* Compiles a post-aggregator tree; returns its node index or -1. */
static int compile_post(struct plan *p, const json_t *j, int depth, struct emu_err *err)
{
	if (depth > 32)
		return emu_fail(err, EMU_E_LIMIT, "rb-druid-emulator: post-aggregators nested too deep");
	if (p->nnodes >= EMU_MAX_POSTAGG_NODES)
		return emu_fail(err, EMU_E_LIMIT, "rb-druid-emulator: more than %d post-aggregator nodes",
		                EMU_MAX_POSTAGG_NODES);
	if (!json_is_object(j))
		return emu_fail(err, EMU_E_PARSE, "post-aggregator must be a JSON object");
	const char *type = get_str(j, "type", "post-aggregator", err);
	if (type == NULL)
		return -1;
	int idx = p->nnodes++;
	struct pnode *n = &p->nodes[idx];
	memset(n, 0, sizeof *n);
	if (strcmp(type, "arithmetic") == 0) {
		static const char *const FNS[] = {"+", "-", "*", "/", "quotient", "pow"};
		const char *fn = get_str(j, "fn", "arithmetic post-aggregator", err);
		if (fn == NULL)
			return -1;
		size_t f;
		for (f = 0; f < sizeof FNS / sizeof FNS[0]; f++)
			if (strcmp(fn, FNS[f]) == 0)
				break;
		if (f == sizeof FNS / sizeof FNS[0])
			return emu_fail(err, EMU_E_PARSE, "Unknown arithmetic operator [%s]", fn);
		n->kind = P_ARITH;
		n->fn = (enum pfn)f;
		const json_t *fields = json_object_get(j, "fields");
		if (!json_is_array(fields) || json_array_size(fields) < 2)
			return emu_fail(err, EMU_E_PARSE, "Illegal number of fields[%zu], must be > 1",
			                json_is_array(fields) ? json_array_size(fields) : (size_t)0);
		size_t nk = json_array_size(fields);
		if (p->nkids + (int)nk > EMU_MAX_POSTAGG_NODES)
			return emu_fail(err, EMU_E_LIMIT, "rb-druid-emulator: post-aggregator too large");
		int kid0 = p->nkids;
		p->nkids += (int)nk;
		for (size_t k = 0; k < nk; k++) {
			int c = compile_post(p, json_array_get(fields, k), depth + 1, err);
			if (c < 0)
				return -1;
			p->kids[kid0 + (int)k] = c;
		}
		p->nodes[idx].kid0 = kid0;
		p->nodes[idx].nkids = (int)nk;
		return idx;
	}
	if (strcmp(type, "fieldAccess") == 0 || strcmp(type, "finalizingFieldAccess") == 0 ||
	    strcmp(type, "hyperUniqueCardinality") == 0) {
		const char *field = get_str(j, "fieldName", type, err);
		if (field == NULL)
			return -1;
		if (strcmp(type, "fieldAccess") == 0)
			n->kind = P_FIELD;
		else if (strcmp(type, "finalizingFieldAccess") == 0)
			n->kind = P_FINALIZING;
		else
			n->kind = P_HUCARD;
		int a = find_agg(p, field);
		if (n->kind == P_HUCARD) {
			if (a < 0 || !is_sketch(p->aggs[a].kind))
				return emu_fail(err, EMU_E_PARSE,
				                "hyperUniqueCardinality \"%s\" needs a hyperUnique or cardinality "
				                "aggregator",
				                field);
			n->ref = a;
			if (get_bool(json_object_get(j, "round"), 0, &n->round, "round", err))
				return -1;
			return idx;
		}
		if (a >= 0) {
			if (n->kind == P_FIELD && is_sketch(p->aggs[a].kind))
				return emu_fail(err, EMU_E_UNSUPPORTED,
				                "rb-druid-emulator: fieldAccess on \"%s\" yields a sketch object, not a "
				                "number; use finalizingFieldAccess or hyperUniqueCardinality",
				                field);
			n->ref = a;
			return idx;
		}
		int q = find_post(p, field);
		if (q < 0)
			return emu_fail(err, EMU_E_PARSE, "Missing fields [[%s]] for postAggregator", field);
		n->ref_post = 1;
		n->ref = q;
		return idx;
	}
	if (strcmp(type, "constant") == 0) {
		const json_t *v = json_object_get(j, "value");
		n->kind = P_CONSTANT;
		if (json_is_integer(v)) {
			n->cval.t = V_LONG;
			n->cval.l = json_integer_value(v);
		} else if (json_is_real(v)) {
			n->cval.t = V_DOUBLE;
			n->cval.d = json_real_value(v);
		} else {
			return emu_fail(err, EMU_E_PARSE, "Constant value must be a number");
		}
		return idx;
	}
	static const char *const KNOWN[] = {"javascript", "expression", "doubleGreatest", "doubleLeast",
	                                    "longGreatest", "longLeast", "thetaSketchEstimate",
	                                    "quantilesDoublesSketchToQuantile", "HLLSketchEstimate"};
	for (size_t k = 0; k < sizeof KNOWN / sizeof KNOWN[0]; k++)
		if (strcmp(type, KNOWN[k]) == 0)
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: post-aggregator type \"%s\" is not supported", type);
	return emu_fail(err, EMU_E_PARSE, "Could not resolve type id '%s' as a subtype of PostAggregator", type);
}

/* ----------------------------------------------------------- granularity */

static int compile_gran(struct plan *p, const json_t *g, struct emu_err *err)
{
	static const struct {
		const char *name;
		int64_t ms; /* 0 = all, -1 = not supported */
	} SIMPLE[] = {
		{"all", 0},
		{"none", -1},
		{"second", 1000},
		{"minute", EMU_MS_MINUTE},
		{"five_minute", 5 * EMU_MS_MINUTE},
		{"ten_minute", 10 * EMU_MS_MINUTE},
		{"fifteen_minute", 15 * EMU_MS_MINUTE},
		{"thirty_minute", 30 * EMU_MS_MINUTE},
		{"hour", EMU_MS_HOUR},
		{"six_hour", 6 * EMU_MS_HOUR},
		{"eight_hour", 8 * EMU_MS_HOUR},
		{"day", EMU_MS_DAY},
		{"week", EMU_MS_WEEK},
		{"month", -1},
		{"quarter", -1},
		{"year", -1},
	};
	p->g.print_offset = 0;
	p->g.origin = 0;
	if (g == NULL || json_is_null(g))
		return emu_fail(err, EMU_E_PARSE, "Must specify a granularity");
	const char *simple = NULL;
	if (json_is_string(g))
		simple = json_string_value(g);
	else if (json_is_object(g) && json_is_string(json_object_get(g, "type")) &&
	         (strcmp(json_string_value(json_object_get(g, "type")), "all") == 0 ||
	          strcmp(json_string_value(json_object_get(g, "type")), "none") == 0))
		simple = json_string_value(json_object_get(g, "type"));
	if (simple != NULL) {
		for (size_t i = 0; i < sizeof SIMPLE / sizeof SIMPLE[0]; i++) {
			if (strcasecmp(simple, SIMPLE[i].name) != 0)
				continue;
			if (SIMPLE[i].ms < 0)
				return emu_fail(err, EMU_E_UNSUPPORTED,
				                "rb-druid-emulator: granularity \"%s\" is not supported", simple);
			if (SIMPLE[i].ms == 0) {
				p->g.kind = G_ALL;
				return 0;
			}
			p->g.kind = G_FIXED;
			p->g.period = SIMPLE[i].ms;
			/* week buckets start on Monday (1970-01-05) */
			p->g.origin = SIMPLE[i].ms == EMU_MS_WEEK ? 4 * EMU_MS_DAY : 0;
			return 0;
		}
		return emu_fail(err, EMU_E_PARSE, "Unknown granularity \"%s\"", simple);
	}
	if (!json_is_object(g))
		return emu_fail(err, EMU_E_PARSE, "granularity must be a string or an object");
	const char *type = get_str(g, "type", "granularity", err);
	if (type == NULL)
		return -1;
	const json_t *origin = json_object_get(g, "origin");
	int has_origin = 0;
	int64_t origin_ms = 0;
	/* Jackson's Joda DateTime deserializer reads "" as null */
	if (json_is_string(origin) && json_string_value(origin)[0] != '\0') {
		if (emu_parse_instant(json_string_value(origin), &origin_ms))
			return emu_fail(err, EMU_E_PARSE, "Invalid format: granularity origin \"%s\"",
			                json_string_value(origin));
		has_origin = 1;
	} else if (json_is_integer(origin)) {
		origin_ms = json_integer_value(origin);
		if (origin_ms < -EMU_MAX_SPAN_MS || origin_ms > EMU_MAX_SPAN_MS)
			return emu_fail(err, EMU_E_PARSE, "granularity origin out of range");
		has_origin = 1;
	} else if (origin != NULL && !json_is_null(origin) && !json_is_string(origin)) {
		return emu_fail(err, EMU_E_PARSE, "granularity origin must be an ISO-8601 instant");
	}
	p->g.kind = G_FIXED;
	if (strcmp(type, "duration") == 0) {
		long long d;
		if (get_long(json_object_get(g, "duration"), &d, "duration granularity", err))
			return -1;
		if (d <= 0 || d > EMU_MAX_SPAN_MS)
			return emu_fail(err, EMU_E_PARSE, "duration granularity: duration must be in (0, %lld]",
			                EMU_MAX_SPAN_MS);
		p->g.period = d;
		p->g.origin = origin_ms;
		return 0;
	}
	if (strcmp(type, "period") != 0)
		return emu_fail(err, EMU_E_PARSE, "Could not resolve type id '%s' as a subtype of Granularity", type);
	const char *period = get_str(g, "period", "period granularity", err);
	if (period == NULL)
		return -1;
	int64_t fixed, months;
	int nfields, week1;
	if (emu_parse_period(period, &fixed, &months, &nfields, &week1))
		return emu_fail(err, EMU_E_PARSE, "Invalid format: period \"%s\"", period);
	if (months != 0)
		return emu_fail(err, EMU_E_UNSUPPORTED,
		                "rb-druid-emulator: period \"%s\" has months or years (no fixed length); not "
		                "supported",
		                period);
	if (fixed <= 0)
		return emu_fail(err, EMU_E_PARSE, "zero period is not acceptable in PeriodGranularity!");
	if (fixed > EMU_MAX_SPAN_MS)
		return emu_fail(err, EMU_E_PARSE, "period \"%s\" is too long", period);
	int64_t off = 0;
	const json_t *tz = json_object_get(g, "timeZone");
	if (json_is_string(tz) && json_string_value(tz)[0] != '\0') {
		if (emu_parse_zone(json_string_value(tz), &off))
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: time zone \"%s\" is not supported (UTC or a fixed "
			                "offset like +02:00)",
			                json_string_value(tz));
	} else if (tz != NULL && !json_is_null(tz) && !json_is_string(tz)) {
		return emu_fail(err, EMU_E_PARSE, "timeZone must be a string");
	}
	p->g.period = fixed;
	p->g.print_offset = off;
	if (has_origin)
		p->g.origin = origin_ms;
	else if (week1)
		p->g.origin = 4 * EMU_MS_DAY - off; /* Monday 1970-01-05T00:00 local */
	else
		p->g.origin = -off; /* 1970-01-01T00:00 local */
	(void)nfields;
	return 0;
}

/* ------------------------------------------------------------- intervals */

static int parse_interval(const char *s, struct interval *out, struct emu_err *err)
{
	const char *slash = strchr(s, '/');
	char a[64], b[64];
	if (slash == NULL || strchr(slash + 1, '/') != NULL || (size_t)(slash - s) >= sizeof a ||
	    strlen(slash + 1) >= sizeof b)
		return emu_fail(err, EMU_E_PARSE, "Invalid interval \"%.80s\"", s);
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	memcpy(b, slash + 1, strlen(slash + 1) + 1);
	int64_t fixed, months;
	int nf, w1;
	int a_per = (a[0] == 'P' || a[0] == 'p'), b_per = (b[0] == 'P' || b[0] == 'p');
	if (a_per && b_per)
		return emu_fail(err, EMU_E_PARSE, "Invalid interval \"%.80s\"", s);
	if (a_per || b_per) {
		if (emu_parse_period(a_per ? a : b, &fixed, &months, &nf, &w1))
			return emu_fail(err, EMU_E_PARSE, "Invalid interval \"%.80s\"", s);
		if (months != 0)
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: interval periods with months or years are not supported");
	}
	if (a_per) {
		if (emu_parse_instant(b, &out->end))
			return emu_fail(err, EMU_E_PARSE, "Invalid interval \"%.80s\"", s);
		out->start = out->end - fixed;
	} else if (b_per) {
		if (emu_parse_instant(a, &out->start))
			return emu_fail(err, EMU_E_PARSE, "Invalid interval \"%.80s\"", s);
		out->end = out->start + fixed;
	} else if (emu_parse_instant(a, &out->start) || emu_parse_instant(b, &out->end)) {
		return emu_fail(err, EMU_E_PARSE, "Invalid interval \"%.80s\"", s);
	}
	if (out->end < out->start)
		return emu_fail(err, EMU_E_PARSE, "The end instant must be greater than the start instant (%.80s)", s);
	return 0;
}

static int cmp_interval(const void *x, const void *y)
{
	const struct interval *a = x, *b = y;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return (a->end > b->end) - (a->end < b->end);
}

static int compile_intervals(struct plan *p, const json_t *j, struct emu_err *err)
{
	if (json_is_object(j)) {
		const json_t *t = json_object_get(j, "type");
		if (!json_is_string(t) || strcmp(json_string_value(t), "intervals") != 0)
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: only {\"type\":\"intervals\"} segment specs are supported");
		j = json_object_get(j, "intervals");
	}
	size_t n;
	if (json_is_string(j))
		n = 1;
	else if (json_is_array(j))
		n = json_array_size(j);
	else
		return emu_fail(err, EMU_E_PARSE, "Missing or invalid \"intervals\"");
	if (n > EMU_MAX_INTERVALS)
		return emu_fail(err, EMU_E_LIMIT, "rb-druid-emulator: more than %d intervals", EMU_MAX_INTERVALS);
	p->iv = calloc(n ? n : 1, sizeof *p->iv);
	if (p->iv == NULL)
		return emu_fail(err, EMU_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_is_string(j) ? j : json_array_get(j, i);
		if (!json_is_string(s))
			return emu_fail(err, EMU_E_PARSE, "intervals must be ISO-8601 strings");
		if (parse_interval(json_string_value(s), &p->iv[i], err))
			return -1;
	}
	/* Druid condenses: sort, then merge overlapping or abutting intervals */
	qsort(p->iv, n, sizeof *p->iv, cmp_interval);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && p->iv[i].start <= p->iv[m - 1].end) {
			if (p->iv[i].end > p->iv[m - 1].end)
				p->iv[m - 1].end = p->iv[i].end;
		} else {
			p->iv[m++] = p->iv[i];
		}
	}
	p->niv = m;
	return 0;
}

/* ------------------------------------------------------------ top level */

/*
 * groupBy's own members: "dimensions" (none, or one: a name or
 * {"type":"default","dimension":..,"outputName":..}); "having", a
 * "limitSpec" with a limit or columns, "subtotalsSpec" -> 501.
 */
static int compile_groupby(struct plan *p, const json_t *q, struct emu_err *err)
{
	p->group_dim = -1;
	const json_t *dims = json_object_get(q, "dimensions");
	if (dims != NULL && !json_is_null(dims)) {
		if (!json_is_array(dims))
			return emu_fail(err, EMU_E_PARSE, "\"dimensions\" must be an array");
		if (json_array_size(dims) > 1)
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: groupBy on more than one dimension is not supported");
		const json_t *d = json_array_get(dims, 0);
		const char *name = NULL;
		if (json_is_string(d)) {
			name = json_string_value(d);
			p->group_out = name;
		} else if (json_is_object(d)) {
			const char *t = get_str(d, "type", "dimension spec", err);
			if (t == NULL)
				return -1;
			if (strcmp(t, "default") != 0)
				return emu_fail(err, EMU_E_UNSUPPORTED,
				                "rb-druid-emulator: dimension spec \"%s\" is not supported", t);
			name = get_str(d, "dimension", "dimension spec", err);
			if (name == NULL)
				return -1;
			const json_t *o = json_object_get(d, "outputName");
			p->group_out = json_is_string(o) ? json_string_value(o) : name;
		} else if (d != NULL) {
			return emu_fail(err, EMU_E_PARSE, "a dimension must be a name or an object");
		}
		if (name != NULL)
			p->group_dim = emu_data_dim_by_name(name);
	}
	const json_t *h = json_object_get(q, "having");
	if (h != NULL && !json_is_null(h))
		return emu_fail(err, EMU_E_UNSUPPORTED, "rb-druid-emulator: \"having\" is not supported");
	const json_t *st = json_object_get(q, "subtotalsSpec");
	if (st != NULL && !json_is_null(st))
		return emu_fail(err, EMU_E_UNSUPPORTED, "rb-druid-emulator: \"subtotalsSpec\" is not supported");
	const json_t *ls = json_object_get(q, "limitSpec");
	if (ls != NULL && !json_is_null(ls)) {
		const json_t *lim = json_object_get(ls, "limit");
		const json_t *cols = json_object_get(ls, "columns");
		if (!json_is_object(ls) || (lim != NULL && !json_is_null(lim)) ||
		    (cols != NULL && !(json_is_array(cols) && json_array_size(cols) == 0)))
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: a groupBy limitSpec with a limit or columns is not supported");
	}
	return 0;
}

static int compile(struct plan *p, const json_t *q, struct emu_err *err)
{
	if (!json_is_object(q))
		return emu_fail(err, EMU_E_PARSE, "A query must be a JSON object");
	const json_t *qt = json_object_get(q, "queryType");
	if (!json_is_string(qt))
		return emu_fail(err, EMU_E_PARSE, "Missing type id when trying to resolve subtype of Query: "
		                                  "missing type id property 'queryType'");
	const char *type = json_string_value(qt);
	p->groupby = strcmp(type, "groupBy") == 0;
	if (p->groupby && compile_groupby(p, q, err))
		return -1;
	if (strcmp(type, "timeseries") != 0 && !p->groupby) {
		static const char *const KNOWN[] = {"topN", "scan", "select", "search", "timeBoundary",
		                                    "segmentMetadata", "dataSourceMetadata", "windowOperator"};
		for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
			if (strcmp(type, KNOWN[i]) == 0)
				return emu_fail(err, EMU_E_UNSUPPORTED,
				                "rb-druid-emulator answers only timeseries queries, not \"%s\"", type);
		return emu_fail(err, EMU_E_PARSE, "Could not resolve type id '%s' as a subtype of Query", type);
	}
	const json_t *ds = json_object_get(q, "dataSource");
	const char *dsname = NULL;
	if (json_is_string(ds)) {
		dsname = json_string_value(ds);
	} else if (json_is_object(ds)) {
		const char *dtype = get_str(ds, "type", "dataSource", err);
		if (dtype == NULL)
			return -1;
		if (strcmp(dtype, "table") != 0)
			return emu_fail(err, EMU_E_UNSUPPORTED,
			                "rb-druid-emulator: dataSource type \"%s\" is not supported (table only)", dtype);
		dsname = get_str(ds, "name", "dataSource", err);
		if (dsname == NULL)
			return -1;
	} else {
		return emu_fail(err, EMU_E_PARSE, "Missing or invalid \"dataSource\"");
	}
	p->no_data = strcmp(dsname, "rb_flow") != 0;
	if (compile_intervals(p, json_object_get(q, "intervals"), err))
		return -1;
	if (compile_gran(p, json_object_get(q, "granularity"), err))
		return -1;
	const json_t *vc = json_object_get(q, "virtualColumns");
	if (vc != NULL && !json_is_null(vc) && !(json_is_array(vc) && json_array_size(vc) == 0))
		return emu_fail(err, EMU_E_UNSUPPORTED, "rb-druid-emulator: virtualColumns are not supported");
	int ns = emu_data_nseries();
	p->mask = (ns >= 64) ? ~0ULL : ((1ULL << ns) - 1);
	const json_t *f = json_object_get(q, "filter");
	if (f != NULL && !json_is_null(f) && compile_filter(p, f, &p->mask, err))
		return -1;
	const json_t *aggs = json_object_get(q, "aggregations");
	if (aggs != NULL && !json_is_null(aggs)) {
		if (!json_is_array(aggs))
			return emu_fail(err, EMU_E_PARSE, "\"aggregations\" must be an array");
		size_t i;
		const json_t *a;
		json_array_foreach(aggs, i, a) {
			if (compile_agg(p, a, p->mask, 0, err))
				return -1;
		}
	}
	for (int i = 0; i < p->naggs; i++)
		for (int k = 0; k < i; k++)
			if (strcmp(p->aggs[i].name, p->aggs[k].name) == 0)
				return emu_fail(err, EMU_E_PARSE, "[%s] already defined", p->aggs[i].name);
	const json_t *posts = json_object_get(q, "postAggregations");
	if (posts != NULL && !json_is_null(posts)) {
		if (!json_is_array(posts))
			return emu_fail(err, EMU_E_PARSE, "\"postAggregations\" must be an array");
		size_t i;
		const json_t *j;
		json_array_foreach(posts, i, j) {
			if (p->ntop >= EMU_MAX_POSTAGG_NODES)
				return emu_fail(err, EMU_E_LIMIT, "rb-druid-emulator: too many post-aggregators");
			const char *name = json_is_object(j) ? get_str(j, "name", "post-aggregator", err) : NULL;
			if (name == NULL)
				return emu_fail(err, EMU_E_PARSE, "post-aggregator %zu: missing \"name\"", i);
			if (find_agg(p, name) >= 0 || find_post(p, name) >= 0)
				return emu_fail(err, EMU_E_PARSE, "[%s] already defined", name);
			int n = compile_post(p, j, 0, err);
			if (n < 0)
				return -1;
			p->top[p->ntop] = n;
			p->top_name[p->ntop] = name;
			p->ntop++;
		}
	}
	if (get_bool(json_object_get(q, "descending"), 0, &p->descending, "descending", err))
		return -1;
	if (p->groupby)
		p->descending = 0; /* not a groupBy member: Druid ignores it */
	const json_t *lim = json_object_get(q, "limit");
	if (lim != NULL && !json_is_null(lim)) {
		long long l;
		if (get_long(lim, &l, "limit", err))
			return -1;
		if (l <= 0)
			return emu_fail(err, EMU_E_PARSE, "limit must be greater than zero");
		p->limit = l;
	}
	const json_t *ctx = json_object_get(q, "context");
	if (ctx != NULL && !json_is_null(ctx)) {
		if (!json_is_object(ctx))
			return emu_fail(err, EMU_E_PARSE, "\"context\" must be an object");
		if (get_bool(json_object_get(ctx, "skipEmptyBuckets"), 0, &p->skip_empty, "skipEmptyBuckets", err))
			return -1;
		int fin = 1, gt = 0;
		if (get_bool(json_object_get(ctx, "finalize"), 1, &fin, "finalize", err) ||
		    get_bool(json_object_get(ctx, "grandTotal"), 0, &gt, "grandTotal", err))
			return -1;
		if (!fin)
			return emu_fail(err, EMU_E_UNSUPPORTED, "rb-druid-emulator: \"finalize\": false is not supported");
		if (gt)
			return emu_fail(err, EMU_E_UNSUPPORTED, "rb-druid-emulator: \"grandTotal\" is not supported");
	}
	return 0;
}

/* ------------------------------------------------------------ evaluation */

struct acc {
	int64_t l;
	double d;
	int seen;
	uint64_t set; /* sketches: series seen */
};

static int64_t bucket_start(const struct gran *g, int64_t t)
{
	return g->origin + emu_floor_div(t - g->origin, g->period) * g->period;
}

/* Clips the condensed intervals to the data range and cuts them into bucket segments. */
static int make_segments(const struct plan *p, struct seg **out, size_t *nout, size_t *nbuckets,
                         struct emu_err *err)
{
	size_t cap = 64, n = 0, nb = 0;
	struct seg *s = malloc(cap * sizeof *s);
	if (s == NULL)
		return emu_fail(err, EMU_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < p->niv && !p->no_data; i++) {
		int64_t from = p->iv[i].start > EMU_DATA_START_MS ? p->iv[i].start : EMU_DATA_START_MS;
		int64_t to = p->iv[i].end < EMU_DATA_END_MS ? p->iv[i].end : EMU_DATA_END_MS;
		if (from >= to)
			continue;
		int64_t b = p->g.kind == G_ALL ? from : bucket_start(&p->g, from);
		while (b < to) {
			int64_t be = p->g.kind == G_ALL ? to : b + p->g.period;
			int64_t key = (p->g.kind == G_ALL && n > 0) ? s[0].bucket : b;
			if (n == 0 || s[n - 1].bucket != key) {
				if (++nb > EMU_MAX_BUCKETS) {
					free(s);
					return emu_fail(err, EMU_E_LIMIT,
					                "rb-druid-emulator: query would produce more than %d time buckets",
					                EMU_MAX_BUCKETS);
				}
			}
			if (n == cap) {
				struct seg *ns = realloc(s, 2 * cap * sizeof *s);
				if (ns == NULL) {
					free(s);
					return emu_fail(err, EMU_E_INTERNAL, "out of memory");
				}
				s = ns;
				cap *= 2;
			}
			s[n].bucket = key;
			s[n].from = b > from ? b : from;
			s[n].to = be < to ? be : to;
			n++;
			b = be;
		}
	}
	*out = s;
	*nout = n;
	*nbuckets = nb;
	return 0;
}

/* Accumulates the rows of segments [s0, s1) into acc; returns the number of rows matched. */
static int64_t eval_bucket(const struct plan *p, uint64_t seed, const struct seg *sg, size_t s0, size_t s1,
                           uint64_t gmask, struct acc *acc)
{
	int64_t rows = 0;
	int ns = emu_data_nseries();
	memset(acc, 0, (size_t)p->naggs * sizeof *acc);
	for (size_t k = s0; k < s1; k++) {
		int64_t m = sg[k].from;
		int64_t rem = emu_floor_div(m, EMU_MS_MINUTE) * EMU_MS_MINUTE;
		if (rem < m)
			m = rem + EMU_MS_MINUTE;
		for (; m < sg[k].to; m += EMU_MS_MINUTE) {
			struct emu_row rowv[EMU_MAX_SERIES];
			uint64_t present = emu_data_minute(seed, m, p->mask & gmask, rowv);
			for (int s = 0; s < ns && present != 0; s++) {
				uint64_t bit = 1ULL << s;
				if (!(present & bit))
					continue;
				const struct emu_row r = rowv[s];
				rows++;
				for (int a = 0; a < p->naggs; a++) {
					const struct agg *g = &p->aggs[a];
					if (!(g->mask & bit))
						continue;
					struct acc *c = &acc[a];
					int64_t v = g->metric == EMU_MET_BYTES    ? r.bytes
					            : g->metric == EMU_MET_PKTS   ? r.pkts
					            : g->metric == EMU_MET_EVENTS ? r.events
					                                          : 0;
					switch (g->kind) {
					case AGG_COUNT: c->l++; break;
					case AGG_LONGSUM: c->l += v; break;
					case AGG_DOUBLESUM: c->d += (double)v; break;
					case AGG_LONGMIN:
						if (!c->seen || v < c->l)
							c->l = v;
						break;
					case AGG_LONGMAX:
						if (!c->seen || v > c->l)
							c->l = v;
						break;
					case AGG_DOUBLEMIN:
						if (!c->seen || (double)v < c->d)
							c->d = (double)v;
						break;
					case AGG_DOUBLEMAX:
						if (!c->seen || (double)v > c->d)
							c->d = (double)v;
						break;
					case AGG_HYPERUNIQUE:
					case AGG_CARDINALITY: c->set |= bit; break;
					}
					c->seen = 1;
				}
			}
		}
	}
	return rows;
}

/* Exact distinct count behind a sketch aggregator over the series in `set`. */
static int64_t sketch_count(const struct agg *g, uint64_t set)
{
	int ns = emu_data_nseries();
	if (g->kind == AGG_HYPERUNIQUE) {
		uint64_t ips = 0;
		for (int s = 0; s < ns; s++)
			if (set & (1ULL << s))
				ips |= 1ULL << emu_data_dim_id(s, EMU_DIM_IP);
		return __builtin_popcountll(ips);
	}
	/* cardinality: distinct values over all fields (byRow=false) or distinct tuples (byRow=true) */
	const char *seen[EMU_MAX_SERIES * EMU_NDIMS];
	int nseen = 0;
	int64_t tuples = 0;
	for (int s = 0; s < ns; s++) {
		if (!(set & (1ULL << s)))
			continue;
		if (g->by_row) {
			int dup = 0;
			for (int t = 0; t < s && !dup; t++) {
				if (!(set & (1ULL << t)))
					continue;
				int same = 1;
				for (int f = 0; f < g->nfields && same; f++)
					same = value_eq(series_value(t, g->fields[f]), series_value(s, g->fields[f]));
				dup = same;
			}
			tuples += !dup;
			continue;
		}
		for (int f = 0; f < g->nfields; f++) {
			const char *v = series_value(s, g->fields[f]);
			if (v == NULL)
				continue;
			int dup = 0;
			for (int k = 0; k < nseen && !dup; k++)
				dup = strcmp(seen[k], v) == 0;
			if (!dup)
				seen[nseen++] = v;
		}
	}
	return g->by_row ? tuples : nseen;
}

/* The finalised value of aggregator a (what Druid prints). */
static struct val agg_value(const struct agg *g, const struct acc *c)
{
	struct val v = {V_NULL, 0, 0};
	switch (g->kind) {
	case AGG_COUNT:
	case AGG_LONGSUM:
		v.t = V_LONG;
		v.l = c->l;
		break;
	case AGG_DOUBLESUM:
		v.t = V_DOUBLE;
		v.d = c->d;
		break;
	case AGG_LONGMIN:
	case AGG_LONGMAX:
		if (c->seen) {
			v.t = V_LONG;
			v.l = c->l;
		}
		break;
	case AGG_DOUBLEMIN:
	case AGG_DOUBLEMAX:
		if (c->seen) {
			v.t = V_DOUBLE;
			v.d = c->d;
		}
		break;
	case AGG_HYPERUNIQUE:
	case AGG_CARDINALITY: {
		int64_t n = sketch_count(g, c->set);
		if (g->round) {
			v.t = V_LONG;
			v.l = n;
		} else {
			v.t = V_DOUBLE;
			v.d = (double)n;
		}
		break;
	}
	}
	return v;
}

static double as_double(struct val v)
{
	return v.t == V_LONG ? (double)v.l : v.d;
}

static struct val eval_post(const struct plan *p, int idx, const struct val *aggv, const struct val *postv,
                            const struct acc *acc)
{
	const struct pnode *n = &p->nodes[idx];
	struct val r = {V_NULL, 0, 0};
	switch (n->kind) {
	case P_CONSTANT: return n->cval;
	case P_FIELD:
	case P_FINALIZING: return n->ref_post ? postv[n->ref] : aggv[n->ref];
	case P_HUCARD:
		r.t = V_DOUBLE;
		r.d = (double)sketch_count(&p->aggs[n->ref], acc[n->ref].set);
		if (n->round) {
			r.t = V_LONG;
			r.l = (int64_t)r.d;
		}
		return r;
	case P_ARITH: {
		double x = 0;
		for (int k = 0; k < n->nkids; k++) {
			struct val c = eval_post(p, p->kids[n->kid0 + k], aggv, postv, acc);
			if (c.t == V_NULL)
				return r;
			double y = as_double(c);
			if (k == 0) {
				x = y;
				continue;
			}
			switch (n->fn) {
			case FN_PLUS: x += y; break;
			case FN_MINUS: x -= y; break;
			case FN_MUL: x *= y; break;
			case FN_DIV: x = (y == 0) ? 0 : x / y; break;
			case FN_QUOTIENT: x = x / y; break;
			case FN_POW: x = pow(x, y); break;
			}
		}
		r.t = V_DOUBLE;
		r.d = x;
		return r;
	}
	}
	return r;
}

static void print_val(struct emu_buf *out, struct val v)
{
	if (v.t == V_LONG)
		emu_buf_printf(out, "%lld", (long long)v.l);
	else if (v.t == V_DOUBLE)
		emu_buf_java_double(out, v.d);
	else
		emu_buf_str(out, "null");
}

static void print_row(const struct plan *p, int64_t ts, const struct acc *acc, struct emu_buf *out, int first)
{
	struct val aggv[EMU_MAX_AGGS];
	struct val postv[EMU_MAX_POSTAGG_NODES];
	char tsbuf[48];
	emu_format_instant(ts, p->g.print_offset, tsbuf, sizeof tsbuf);
	emu_buf_str(out, first ? "{\"timestamp\":\"" : ",{\"timestamp\":\"");
	emu_buf_str(out, tsbuf);
	emu_buf_str(out, "\",\"result\":{");
	for (int a = 0; a < p->naggs; a++) {
		aggv[a] = agg_value(&p->aggs[a], &acc[a]);
		if (a)
			emu_buf_add(out, ",", 1);
		emu_buf_json_str(out, p->aggs[a].name);
		emu_buf_add(out, ":", 1);
		print_val(out, aggv[a]);
	}
	for (int t = 0; t < p->ntop; t++) {
		postv[t] = eval_post(p, p->top[t], aggv, postv, acc);
		if (t || p->naggs)
			emu_buf_add(out, ",", 1);
		emu_buf_json_str(out, p->top_name[t]);
		emu_buf_add(out, ":", 1);
		print_val(out, postv[t]);
	}
	emu_buf_str(out, "}}");
}

static int cmp_group(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/*
 * groupBy rows of one bucket: one per value of the dimension among the series
 * the filter keeps, in value order, only values with rows in the bucket
 * (groupBy never zero-fills). Returns the rows printed.
 */
static int64_t eval_groups(const struct plan *p, uint64_t seed, const struct seg *sg, size_t s0, size_t s1,
                           struct acc *acc, struct emu_buf *out)
{
	const char *vals[EMU_MAX_SERIES];
	int nv = 0, ns = emu_data_nseries();
	if (p->group_dim >= 0) {
		for (int s = 0; s < ns; s++) {
			if (!(p->mask & (1ULL << s)))
				continue;
			const char *v = emu_data_dim(s, (enum emu_dim)p->group_dim);
			int seen = 0;
			for (int k = 0; k < nv && !seen; k++)
				seen = strcmp(vals[k], v) == 0;
			if (!seen)
				vals[nv++] = v;
		}
		qsort(vals, (size_t)nv, sizeof vals[0], cmp_group);
	} else {
		vals[nv++] = NULL; /* one group: no dimension, or one rb_flow lacks (null) */
	}
	int64_t printed = 0;
	for (int k = 0; k < nv; k++) {
		uint64_t gmask = 0;
		for (int s = 0; s < ns; s++)
			if (vals[k] == NULL || strcmp(emu_data_dim(s, (enum emu_dim)p->group_dim), vals[k]) == 0)
				gmask |= 1ULL << s;
		if (eval_bucket(p, seed, sg, s0, s1, gmask, acc) == 0)
			continue;
		struct emu_buf row;
		emu_buf_init(&row, out->max);
		print_row(p, sg[s0].bucket, acc, &row, 1);
		/* print_row's {"timestamp":..,"result":{..}} -> {"version":"v1","timestamp":..,"event":{dim,..}} */
		const char *r = row.p != NULL ? row.p : "";
		const char *res = strstr(r, "\"result\":{");
		if (res == NULL || row.overflow) {
			out->overflow = 1;
			emu_buf_free(&row);
			return printed;
		}
		emu_buf_str(out, printed == 0 && out->len <= 1 ? "{\"version\":\"v1\"," : ",{\"version\":\"v1\",");
		emu_buf_add(out, r + 1, (size_t)(res - r - 1));
		emu_buf_str(out, "\"event\":{");
		if (p->group_out != NULL) {
			emu_buf_json_str(out, p->group_out);
			emu_buf_add(out, ":", 1);
			if (vals[k] != NULL)
				emu_buf_json_str(out, vals[k]);
			else
				emu_buf_str(out, "null");
			if (res[10] != '}')
				emu_buf_add(out, ",", 1);
		}
		emu_buf_str(out, res + 10);
		emu_buf_free(&row);
		printed++;
	}
	return printed;
}

static int evaluate(const struct plan *p, uint64_t seed, struct emu_buf *out, struct emu_err *err)
{
	struct seg *sg = NULL;
	size_t nseg = 0, nb = 0;
	if (make_segments(p, &sg, &nseg, &nb, err))
		return -1;
	struct acc acc[EMU_MAX_AGGS];
	int64_t emitted = 0;
	emu_buf_add(out, "[", 1);
	/* group consecutive segments with the same bucket; walk groups forwards or backwards */
	size_t i = p->descending ? nseg : 0;
	while (p->descending ? i > 0 : i < nseg) {
		size_t s0, s1;
		if (p->descending) {
			s1 = i;
			s0 = i - 1;
			while (s0 > 0 && sg[s0 - 1].bucket == sg[s1 - 1].bucket)
				s0--;
			i = s0;
		} else {
			s0 = i;
			s1 = i + 1;
			while (s1 < nseg && sg[s1].bucket == sg[s0].bucket)
				s1++;
			i = s1;
		}
		if (p->groupby) {
			emitted += eval_groups(p, seed, sg, s0, s1, acc, out);
			if (out->overflow)
				break;
			continue;
		}
		int64_t rows = eval_bucket(p, seed, sg, s0, s1, ~0ULL, acc);
		if (rows == 0 && p->skip_empty)
			continue;
		print_row(p, sg[s0].bucket, acc, out, emitted == 0);
		emitted++;
		if (p->limit > 0 && emitted >= p->limit)
			break;
		if (out->overflow)
			break;
	}
	/* granularity all, nothing to aggregate, empty buckets not skipped: one row of defaults */
	if (emitted == 0 && p->g.kind == G_ALL && !p->skip_empty && !p->groupby) {
		memset(acc, 0, sizeof acc);
		print_row(p, p->niv > 0 ? p->iv[0].start : 0, acc, out, 1);
	}
	emu_buf_add(out, "]", 1);
	free(sg);
	if (out->overflow)
		return emu_fail(err, EMU_E_LIMIT, "rb-druid-emulator: response larger than %zu bytes", out->max);
	return 0;
}

int emu_query_run(const char *body, size_t len, uint64_t seed, struct emu_buf *out, struct emu_err *err)
{
	if (!depth_ok(body, len, EMU_MAX_JSON_DEPTH))
		return emu_fail(err, EMU_E_PARSE, "JSON nested deeper than %d levels", EMU_MAX_JSON_DEPTH);
	json_error_t jerr;
	struct plan *p = calloc(1, sizeof *p);
	if (p == NULL)
		return emu_fail(err, EMU_E_INTERNAL, "out of memory");
	p->root = json_loadb(body, len, 0, &jerr); /* new reference, released by plan_free */
	if (p->root == NULL) {
		free(p);
		return emu_fail(err, EMU_E_PARSE, "Invalid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
		                jerr.column);
	}
	int rc = compile(p, p->root, err);
	if (rc == 0)
		rc = evaluate(p, seed, out, err);
	plan_free(p);
	free(p);
	return rc;
}
