/*
 * ip_identifier: CONTRACT §7's payload read with Jansson (after a depth and
 * size check), laid out as an IPs x instants matrix, judged per outlier by
 * blame_rows (see include/rb/explain/ip_identifier.h). Not the HTTP edge
 * (fcgi/app.c takes the payload form field) and not the rule (blame.c).
 */
#include "rb/explain/ip_identifier.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rb/explain/blame.h"
#include "rb/input/series.h"

#include "explain_json.h"

struct ip_row {
	const char *name;    /* borrowed from the payload tree */
	const json_t *rows;  /* borrowed: its array */
};

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct ip_row *)a)->name, ((const struct ip_row *)b)->name);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Index of v in sorted u[0..n), or n. */
static size_t find_instant(const double *u, size_t n, double v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (u[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && u[lo] == v ? lo : n;
}

/* The instant of obj["timestamp"]; what names obj in messages. */
static enum rb_code read_instant(const json_t *obj, const char *what, size_t i, double *t,
                                 struct rb_err *err)
{
	const json_t *ts = json_is_object(obj) ? json_object_get(obj, "timestamp") : NULL;
	if (!json_is_string(ts))
		return rb_err_set(err, RB_E_INPUT, "payload: %s[%zu] needs a \"timestamp\" string",
		                  what, i);
	const char *why = series_instant_error(json_string_value(ts), t);
	if (why != NULL)
		return rb_err_set(err, RB_E_INPUT, "payload: %s[%zu].timestamp: %s", what, i, why);
	return RB_OK;
}

static enum rb_code judge(const json_t *outliers, const struct ip_row *ips, size_t nip,
                          const double *u, size_t nu, const double *x, json_t *list,
                          struct rb_err *err)
{
	size_t i;
	const json_t *o;
	json_array_foreach(outliers, i, o) {
		double t;
		enum rb_code rc = read_instant(o, "outliers", i, &t, err);
		if (rc != RB_OK)
			return rc;
		json_t *item = json_object(); /* new, stolen by list */
		json_t *who = json_array();   /* new, stolen by item */
		if (item == NULL || who == NULL || json_array_append_new(list, item) != 0 ||
		    json_object_set_new(item, "timestamp",
		                        json_incref(json_object_get(o, "timestamp"))) != 0 ||
		    json_object_set_new(item, "caused_by", who) != 0)
			return rb_err_set(err, RB_E_NOMEM, "out of memory building the answer");
		size_t at = find_instant(u, nu, t);
		if (at == nu)
			continue;
		struct blame_result br;
		rc = blame_rows(x, nip, nu, at, &br, err);
		if (rc != RB_OK)
			return rc;
		for (size_t k = 0; k < br.n; k++)
			if (json_array_append_new(who, json_string(ips[br.items[k].row].name)) != 0) {
				blame_release(&br);
				return rb_err_set(err, RB_E_NOMEM, "out of memory building the answer");
			}
		blame_release(&br);
	}
	return RB_OK;
}

enum rb_code ip_identifier_run(const char *payload, size_t len, char **answer,
                               struct rb_err *err)
{
	*answer = NULL;
	json_t *root = NULL;
	enum rb_code rc = explain_json_load(payload, len, IPID_MAX_DEPTH, "payload", &root, err);
	if (rc != RB_OK)
		return rc;
	struct ip_row *ips = NULL;
	double *u = NULL, *x = NULL;
	json_t *out = NULL;
	const json_t *outliers = json_is_object(root) ? json_object_get(root, "outliers") : NULL;
	const json_t *all = json_is_object(root) ? json_object_get(root, "all_ips_data") : NULL;
	if (!json_is_array(outliers) || !json_is_object(all)) {
		rc = rb_err_set(err, RB_E_INPUT, "payload: a JSON object with an \"outliers\" array "
		                                 "and an \"all_ips_data\" object is needed");
		goto done;
	}
	if (json_array_size(outliers) > IPID_MAX_OUTLIERS || json_object_size(all) > IPID_MAX_IPS) {
		rc = rb_err_set(err, RB_E_TOO_LARGE, "payload: more than %d outliers or %d IPs",
		                IPID_MAX_OUTLIERS, IPID_MAX_IPS);
		goto done;
	}
	size_t nip = json_object_size(all), nts = 0, k = 0;
	ips = calloc(nip > 0 ? nip : 1, sizeof *ips);
	if (ips == NULL) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		goto done;
	}
	const char *key;
	const json_t *arr;
	json_object_foreach((json_t *)all, key, arr) {
		if (key[0] == '\0' || strlen(key) > IPID_MAX_NAME || !json_is_array(arr)) {
			rc = rb_err_set(err, RB_E_INPUT, "payload: all_ips_data: each key is an IP "
			                                 "(1 to %d bytes) and each value an array",
			                IPID_MAX_NAME);
			goto done;
		}
		ips[k].name = key;
		ips[k].rows = arr;
		k++;
		nts += json_array_size(arr);
		if (nts > IPID_MAX_CELLS) {
			rc = rb_err_set(err, RB_E_TOO_LARGE, "payload: more than %u rows in all_ips_data",
			                IPID_MAX_CELLS);
			goto done;
		}
	}
	qsort(ips, nip, sizeof *ips, cmp_row);
	/* The union of instants. */
	u = malloc((nts > 0 ? nts : 1) * sizeof *u);
	if (u == NULL) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		goto done;
	}
	size_t nu = 0;
	for (k = 0; k < nip; k++) {
		size_t i;
		const json_t *r;
		json_array_foreach(ips[k].rows, i, r) {
			rc = read_instant(r, ips[k].name, i, &u[nu++], err);
			if (rc != RB_OK)
				goto done;
		}
	}
	qsort(u, nu, sizeof *u, cmp_dbl);
	size_t w = 0;
	for (size_t i = 0; i < nu; i++)
		if (w == 0 || u[i] != u[w - 1])
			u[w++] = u[i];
	nu = w;
	if (nip * nu > IPID_MAX_CELLS) {
		rc = rb_err_set(err, RB_E_TOO_LARGE, "payload: %zu IPs x %zu instants is over %u cells",
		                nip, nu, IPID_MAX_CELLS);
		goto done;
	}
	x = malloc((nip * nu > 0 ? nip * nu : 1) * sizeof *x);
	if (x == NULL) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < nip * nu; i++)
		x[i] = NAN;
	for (k = 0; k < nip; k++) {
		size_t i;
		const json_t *r;
		json_array_foreach(ips[k].rows, i, r) {
			double t;
			read_instant(r, ips[k].name, i, &t, err); /* read above: cannot fail */
			const json_t *res = json_object_get(r, "result");
			const json_t *b = json_is_object(res) ? json_object_get(res, "bytes") : NULL;
			if (!json_is_number(b) || !isfinite(json_number_value(b))) {
				rc = rb_err_set(err, RB_E_INPUT, "payload: %s[%zu] needs a number "
				                                 "result.bytes", ips[k].name, i);
				goto done;
			}
			double *c = &x[k * nu + find_instant(u, nu, t)];
			if (!isnan(*c)) {
				rc = rb_err_set(err, RB_E_INPUT, "payload: %s[%zu]: a second row at the "
				                                 "same instant", ips[k].name, i);
				goto done;
			}
			*c = json_number_value(b);
		}
	}
	out = json_object();
	json_t *list = json_array(); /* new, stolen by out */
	if (out == NULL || list == NULL || json_object_set_new(out, "ips", list) != 0) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		goto done;
	}
	rc = judge(outliers, ips, nip, u, nu, x, list, err);
	if (rc == RB_OK) {
		*answer = json_dumps(out, JSON_COMPACT);
		if (*answer == NULL)
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
done:
	json_decref(out);
	json_decref(root);
	free(ips);
	free(u);
	free(x);
	return rc;
}
