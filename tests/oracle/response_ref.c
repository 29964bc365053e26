/*
 * response_ref: the reference (oracle) for the JSON bodies of CONTRACT §1,
 * built with a Jansson tree and json_dumps exactly as the service did before
 * core/answer/response.c wrote them directly. Used only by tests and benchmarks to
 * prove the two byte-identical; not called by the service. One compact line,
 * keys in a fixed order, reals with 15 significant digits, non-finite numbers
 * as null. The list of events comes from events_find() (rb/detect/events.h,
 * tested on its own by tests/test_events.c); this file checks how it is
 * written, not how it is found.
 */
#include "oracle/response_ref.h"

#include <math.h>
#include <stdlib.h>

#include <jansson.h>

#include "rb/detect/events.h"

/* Dump flags shared by both bodies: the CLI and the service send these bytes. */
#define RESPONSE_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* New reference: a real, or null when v is NaN or infinite. */
static json_t *number_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* Adds key -> value to obj, stealing value; returns -1 on failure (value released). */
static int put(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL)
		return -1;
	return json_object_set_new(obj, key, value);
}

/* Appends value to arr, stealing it; -1 on failure (value released). */
static int push(json_t *arr, json_t *value)
{
	if (value == NULL)
		return -1;
	return json_array_append_new(arr, value);
}

/* New reference: {"timestamp":..., "expected":..., "value":..., "score":...}. */
static json_t *anomaly_entry(const char *ts, const struct detection *d, size_t i)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	if (put(o, "timestamp", json_string(ts)) < 0 ||
	    put(o, "expected", number_or_null(d->expected[i])) < 0 ||
	    put(o, "value", number_or_null(d->observed[i])) < 0 ||
	    put(o, "score", number_or_null(d->score[i])) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* New reference: {"timestamp":..., "forecast":...}. */
static json_t *predicted_entry(const char *ts, const struct detection *d, size_t i)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	if (put(o, "timestamp", json_string(ts)) < 0 ||
	    put(o, "forecast", number_or_null(d->expected[i])) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* New reference: one event {start, end, kind, peak_timestamp, peak_score, rows}. */
static json_t *event_entry(const struct series *s, const struct event *e)
{
	char a[EVENTS_INSTANT_LEN], b[EVENTS_INSTANT_LEN];
	const char *start, *end, *peak;
	if (e->kind == EVENT_GAP) {
		events_format_instant(a, e->start);
		events_format_instant(b, e->end);
		start = peak = a;
		end = b;
	} else {
		start = s->timestamps[e->first];
		end = s->timestamps[e->last];
		peak = s->timestamps[e->peak];
	}
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	if (put(o, "start", json_string(start)) < 0 || put(o, "end", json_string(end)) < 0 ||
	    put(o, "kind", json_string(event_kind_names[e->kind])) < 0 ||
	    put(o, "peak_timestamp", json_string(peak)) < 0 ||
	    put(o, "peak_score", number_or_null(e->peak_score)) < 0 ||
	    put(o, "rows", json_integer((json_int_t)e->rows)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Adds "events" (and "events_truncated" past the cap) to root; -1 on failure. */
static int put_events(json_t *root, const struct series *s, const struct detection *d)
{
	struct events ev;
	if (events_find(&ev, s, d, EVENTS_MAX, NULL) != RB_OK)
		return -1;
	json_t *arr = json_array(); /* new, stolen by root below */
	int rc = arr == NULL ? -1 : 0;
	for (size_t k = 0; k < ev.n && rc == 0; k++)
		rc = push(arr, event_entry(s, &ev.ev[k]));
	if (rc == 0) {
		rc = put(root, "events", arr);
		arr = NULL;
	}
	if (rc == 0 && ev.truncated)
		rc = put(root, "events_truncated", json_true());
	json_decref(arr);
	events_release(&ev);
	return rc;
}

char *response_success_reference(const struct series *s, const struct detection *d)
{
	json_t *root = json_object();  /* new */
	json_t *anoms = json_array();  /* new, stolen by root below */
	json_t *preds = json_array();  /* new, stolen by root below */
	char *out = NULL;
	size_t n = d->n < s->n ? d->n : s->n; /* equal by the detection invariant */

	if (root == NULL || anoms == NULL || preds == NULL) {
		json_decref(anoms);
		json_decref(preds);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const char *ts = s->timestamps[i];
		if (d->anomaly[i] && push(anoms, anomaly_entry(ts, d, i)) < 0)
			goto fail_arrays;
		if (push(preds, predicted_entry(ts, d, i)) < 0)
			goto fail_arrays;
	}
	if (put(root, "status", json_string("success")) < 0)
		goto fail_arrays;
	if (put(root, "anomalies", anoms) < 0) {
		anoms = NULL;
		goto fail_arrays;
	}
	anoms = NULL;
	if (put(root, "predicted", preds) < 0) {
		preds = NULL;
		goto done;
	}
	preds = NULL;
	if (put(root, "model", json_string(d->model)) < 0 ||
	    put(root, "metric", json_string(d->metric)) < 0 ||
	    put(root, "threshold", number_or_null(d->threshold)) < 0 ||
	    (d->has_history && put(root, "history_rows", json_integer((json_int_t)d->history_rows)) < 0) ||
	    put_events(root, s, d) < 0)
		goto done;
	out = json_dumps(root, RESPONSE_DUMP_FLAGS);
	goto done;

fail_arrays:
	json_decref(anoms);
	json_decref(preds);
done:
	json_decref(root);
	return out;
}

char *response_error_reference(const char *msg)
{
	json_t *root = json_object(); /* new */
	char *out = NULL;
	if (root == NULL)
		return NULL;
	/* json_string() refuses invalid UTF-8: fall back to a fixed message. */
	json_t *m = json_string(msg != NULL ? msg : "error");
	if (m == NULL)
		m = json_string("error (message was not valid UTF-8)");
	if (put(root, "status", json_string("error")) == 0 && put(root, "msg", m) == 0)
		out = json_dumps(root, RESPONSE_DUMP_FLAGS);
	json_decref(root);
	return out;
}
