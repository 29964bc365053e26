/*
 * request_fields: the outliers request's fields, from a real urlencoded body
 * through form_parse. Data wins over query; neither is "No data provided or
 * requested"; base64 of the wrong JSON kind, bad base64 and caps name the
 * field; a '+' that form decoding turned into a space still decodes; the model
 * field never fails (absent / undecodable / unsafe / named); the extension
 * fields take plain or base64 text; the name validators.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/form.h"
#include "rb/fcgi/request_fields.h"
#include "testutil.h"

#define DATA_B64 "W3sidGltZXN0YW1wIjoiMjAyMy0wOS0yMVQwOTowMDowMC4wMDBaIiwicmVzdWx0Ijp7ImJ5dGVzIjoxfX1d"
#define DATA_JSON "[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"bytes\":1}}]"
#define QUERY_B64 "eyJxdWVyeVR5cGUiOiJ0aW1lc2VyaWVzIn0="
#define QUERY_JSON "{\"queryType\":\"timeseries\"}"

/* Parses body as urlencoded and decodes the fields (max_json 4096). */
static enum rb_code decode(const char *body, struct rb_request *req, struct rb_err *err)
{
	struct form *f;
	enum rb_code rc = form_parse(NULL, body, strlen(body), NULL, &f, err);
	CHECKF(rc == RB_OK, "%s: %s", body, err->msg);
	rc = request_fields_decode(f, 4096, req, err);
	form_free(f);
	return rc;
}

struct rf_case {
	const char *body;
	enum rb_code code;
	const char *msg;         /* error substring */
	const char *data, *query; /* expected decoded text, NULL = absent */
};

static const struct rf_case cases[] = {
	{"data=" DATA_B64, RB_OK, NULL, DATA_JSON, NULL},
	{"query=" QUERY_B64, RB_OK, NULL, NULL, QUERY_JSON},
	{"query=eyJxdWVyeVR5cGUiOiJ0aW1lc2VyaWVzIn0%3D", RB_OK, NULL, NULL, QUERY_JSON},
	{"query=eyJxdWVyeVR5cGUiOiJ0aW1lc2VyaWVzIn0", RB_OK, NULL, NULL, QUERY_JSON},
	/* data wins: the query is ignored, even when it is garbage */
	{"query=" QUERY_B64 "&data=" DATA_B64, RB_OK, NULL, DATA_JSON, NULL},
	{"query=!!!&data=" DATA_B64, RB_OK, NULL, DATA_JSON, NULL},
	/* '+' sent unescaped: form decoding makes it a space, base64 reads it back as '+' */
	{"data=WyI+Pj4iXQ==", RB_OK, NULL, "[\">>>\"]", NULL},
	{"data=WyI%2BPj4iXQ%3D%3D", RB_OK, NULL, "[\">>>\"]", NULL},
	{"data=WyI-Pj4iXQ", RB_OK, NULL, "[\">>>\"]", NULL},
	{"query=eyJhIjoiPz8+In0=", RB_OK, NULL, NULL, "{\"a\":\"?\?>\"}"},
	/* base64 of text with leading blanks and line breaks */
	{"data=ICAKWzFd", RB_OK, NULL, "  \n[1]", NULL},
	/* neither */
	{"", RB_E_INPUT, "No data provided or requested", NULL, NULL},
	{"data=&query=", RB_E_INPUT, "No data provided or requested", NULL, NULL},
	{"model=dHJhZmZpYw==", RB_E_INPUT, "No data provided or requested", NULL, NULL},
	{"Data=" DATA_B64, RB_E_INPUT, "No data provided or requested", NULL, NULL},
	/* bad fields */
	{"data=!!!", RB_E_INPUT, "data: invalid base64: character '!' at offset 0", NULL, NULL},
	{"data=W3s.", RB_E_INPUT, "data: invalid base64: character '.' at offset 3", NULL, NULL},
	{"data=%00", RB_E_INPUT, "data: invalid base64: byte 0x00", NULL, NULL},
	{"data=Q", RB_E_INPUT, "data: invalid base64: truncated", NULL, NULL},
	{"data=QQ==QQ==", RB_E_INPUT, "data: invalid base64: '=' at offset 2", NULL, NULL},
	{"data=" QUERY_B64, RB_E_INPUT, "data: not base64 of a JSON array", NULL, NULL},
	{"query=" DATA_B64, RB_E_INPUT, "query: not base64 of a JSON object", NULL, NULL},
	{"query=ICAg", RB_E_INPUT, "query: not base64 of a JSON object", NULL, NULL},
	{"query=%20", RB_E_INPUT, "query: invalid base64: truncated", NULL, NULL},
	/* the data error wins over the missing query */
	{"data=e30=", RB_E_INPUT, "data: not base64 of a JSON array", NULL, NULL},
	{"metric=bad%20metric&data=WzFd", RB_E_INPUT,
	 "metric: not a metric name (1 to 63 of A-Z a-z 0-9 . _ -) (as plain text or base64)", NULL,
	 NULL},
	{"metric=YSBiIGM%3D&data=WzFd", RB_E_INPUT, "metric: not a metric name", NULL, NULL},
	{"sensitivity=1.5&data=WzFd", RB_E_INPUT, "sensitivity: out of range 0..1", NULL, NULL},
	{"sensitivity=nan&data=WzFd", RB_E_INPUT, "sensitivity: not a number from 0 to 1", NULL, NULL},
	{"sensitivity=bmFu&data=WzFd", RB_E_INPUT, "sensitivity: not a number", NULL, NULL},
	{"sensitivity=inf&data=WzFd", RB_E_INPUT, "sensitivity: not a number", NULL, NULL},
	{"history=P1M&data=WzFd", RB_E_INPUT,
	 "history: not an ISO-8601 period such as P7D or PT0S: period has no fixed length", NULL,
	 NULL},
	{"history=7d&data=WzFd", RB_E_INPUT,
	 "history: not an ISO-8601 period such as P7D or PT0S (as plain text or base64)", NULL,
	 NULL},
	{"history=-PT1H&data=WzFd", RB_E_INPUT, "history: not an ISO-8601 period", NULL, NULL},
	{"history=P1D%20&data=WzFd", RB_E_INPUT, "history: not an ISO-8601 period", NULL, NULL},
	{"detector=iforest&data=WzFd", RB_E_INPUT,
	 "detector: not a detector name (default, iforest-legacy, novelty or robust) (as plain text or base64)",
	 NULL, NULL},
};

static void run_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct rf_case *c = &cases[i];
		struct rb_request req;
		struct rb_err err = {0};
		enum rb_code rc = decode(c->body, &req, &err);
		CHECKF(rc == c->code, "case %zu (%s): code %d (%s)", i, c->body, rc, err.msg);
		if (rc != RB_OK) {
			CHECKF(strstr(err.msg, c->msg) != NULL, "case %zu: '%s' lacks '%s'", i, err.msg,
			       c->msg);
		} else {
			if (c->data == NULL)
				CHECK(req.data == NULL && req.data_len == 0);
			else
				CHECKF(req.data != NULL && req.data_len == strlen(c->data) &&
				               strcmp(req.data, c->data) == 0,
				       "case %zu: data '%s'", i, req.data ? req.data : "(null)");
			if (c->query == NULL)
				CHECK(req.query == NULL);
			else
				CHECKF(req.query != NULL && req.query_len == strlen(c->query) &&
				               strcmp(req.query, c->query) == 0,
				       "case %zu: query '%s'", i, req.query ? req.query : "(null)");
		}
		request_fields_release(&req); /* safe after a failure too */
		CHECK(req.data == NULL && req.query == NULL);
	}
	request_fields_release(NULL);
}

struct model_case {
	const char *field; /* urlencoded value */
	enum rb_model_status status;
	const char *name;
};

static const struct model_case models[] = {
	{"", RB_MODEL_ABSENT, ""},
	{"dHJhZmZpYw==", RB_MODEL_NAMED, "traffic"},
	{"dHJhZmZpYw", RB_MODEL_NAMED, "traffic"},
	{"dHJhZmZpYwo%3D", RB_MODEL_NAMED, "traffic"},        /* "traffic\n" from `echo | base64` */
	{"dHJhZmZpYy52Ml8x", RB_MODEL_NAMED, "traffic.v2_1"},
	{"traffic", RB_MODEL_UNSAFE, ""},                  /* plain text: valid base64, garbage bytes */
	{"!!", RB_MODEL_UNDECODABLE, ""},
	{"dHJh.ZmZpYw", RB_MODEL_UNDECODABLE, ""},
	{"Q", RB_MODEL_UNDECODABLE, ""},
	{"Li4vZXRjL3Bhc3N3ZA==", RB_MODEL_UNSAFE, ""},       /* ../etc/passwd */
	{"LmhpZGRlbg==", RB_MODEL_UNSAFE, ""},               /* .hidden */
	{"YSBi", RB_MODEL_UNSAFE, ""},                       /* "a b" */
	{"ICAg", RB_MODEL_UNSAFE, ""},                       /* blanks only */
	/* 64 'a': one over the limit; 63 is fine */
	{"YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYQ==",
	 RB_MODEL_UNSAFE, ""},
	{"YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh",
	 RB_MODEL_NAMED, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
};

static void model_field(void)
{
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
		char body[300];
		snprintf(body, sizeof body, "data=WzFd&model=%s", models[i].field);
		struct rb_request req;
		struct rb_err err = {0};
		CHECKF(decode(body, &req, &err) == RB_OK, "model %s: %s", models[i].field, err.msg);
		CHECKF(req.model_status == models[i].status && strcmp(req.model, models[i].name) == 0,
		       "model %s: status %d name '%s'", models[i].field, req.model_status, req.model);
		request_fields_release(&req);
	}
}

static void extension_fields(void)
{
	struct rb_request req;
	struct rb_err err = {0};
	CHECK(decode("data=WzFd", &req, &err) == RB_OK);
	CHECK(req.metric[0] == '\0' && !req.has_sensitivity && !req.has_detector);
	request_fields_release(&req);

	CHECK(decode("data=WzFd&metric=bytes&sensitivity=0.9&detector=iforest-legacy", &req,
	             &err) == RB_OK);
	CHECK(strcmp(req.metric, "bytes") == 0);
	CHECK(req.has_sensitivity && req.sensitivity == 0.9);
	CHECK(req.has_detector && req.detector == DETECTOR_KIND_IFOREST_LEGACY);
	request_fields_release(&req);

	/* the same, base64 */
	CHECK(decode("data=WzFd&metric=Ynl0ZXM%3D&sensitivity=MC45&detector=aWZvcmVzdC1sZWdhY3k",
	             &req, &err) == RB_OK);
	CHECK(strcmp(req.metric, "bytes") == 0);
	CHECK(req.has_sensitivity && req.sensitivity == 0.9);
	CHECK(req.has_detector && req.detector == DETECTOR_KIND_IFOREST_LEGACY);
	request_fields_release(&req);

	/* the documented ambiguity: unpadded base64 that is a valid name is read as plain text */
	CHECK(decode("data=WzFd&metric=Ynl0ZXM", &req, &err) == RB_OK);
	CHECK(strcmp(req.metric, "Ynl0ZXM") == 0);
	request_fields_release(&req);

	/* edges */
	CHECK(decode("data=WzFd&sensitivity=0&detector=default", &req, &err) == RB_OK);
	CHECK(req.sensitivity == 0.0 && req.detector == DETECTOR_KIND_DEFAULT);
	request_fields_release(&req);
	CHECK(decode("data=WzFd&sensitivity=1e0", &req, &err) == RB_OK && req.sensitivity == 1.0);
	request_fields_release(&req);

	/* history: plain text or base64 of a period; zero allowed (the caller clamps) */
	CHECK(decode("data=WzFd", &req, &err) == RB_OK && !req.has_history);
	request_fields_release(&req);
	CHECK(decode("data=WzFd&history=P7D", &req, &err) == RB_OK && req.has_history &&
	      req.history_ms == 604800000LL);
	request_fields_release(&req);
	CHECK(decode("data=WzFd&history=PT0S", &req, &err) == RB_OK && req.has_history &&
	      req.history_ms == 0);
	request_fields_release(&req);
	CHECK(decode("data=WzFd&history=UFQ2SA%3D%3D", &req, &err) == RB_OK && req.has_history &&
	      req.history_ms == 6 * 3600000LL); /* base64 of PT6H */
	request_fields_release(&req);
	CHECK(decode("data=WzFd&history=P52W", &req, &err) == RB_OK && /* larger: clamped later */
	      req.history_ms == 52 * 604800000LL);
	request_fields_release(&req);
}

static void caps(void)
{
	/* max_json applies to the decoded data and query */
	struct form *f;
	struct rb_err err = {0};
	struct rb_request req;
	const char *body = "data=WzEsMiwzXQ"; /* [1,2,3]: 7 bytes */
	CHECK(form_parse(NULL, body, strlen(body), NULL, &f, &err) == RB_OK);
	CHECK(request_fields_decode(f, 7, &req, &err) == RB_OK && req.data_len == 7);
	request_fields_release(&req);
	CHECK(request_fields_decode(f, 6, &req, &err) == RB_E_TOO_LARGE);
	CHECK(strstr(err.msg, "data: decoded base64 is over 6 bytes") != NULL);
	request_fields_release(&req);
	form_free(f);

	/* a long metric field (base64 or not) is an error, not an overflow */
	size_t n = 5000;
	char *big = malloc(n + 32);
	CHECK(big != NULL);
	memcpy(big, "data=WzFd&metric=", 17);
	memset(big + 17, 'A', n);
	big[17 + n] = '\0';
	CHECK(decode(big, &req, &err) == RB_E_INPUT && strstr(err.msg, "metric:") != NULL);
	request_fields_release(&req);
	memcpy(big, "data=WzFd&model==", 17);
	memset(big + 17, 'A', n);
	big[17 + n] = '\0';
	CHECK(decode(big, &req, &err) == RB_OK && req.model_status == RB_MODEL_UNDECODABLE);
	request_fields_release(&req);
	memcpy(big, "data=WzFd&model=", 16);
	memset(big + 16, 'A', n); /* 3750 bytes decoded: too long for a name */
	big[16 + n] = '\0';
	CHECK(decode(big, &req, &err) == RB_OK && req.model_status == RB_MODEL_UNSAFE);
	request_fields_release(&req);
	free(big);
}

int main(void)
{
	run_cases();
	model_field();
	extension_fields();
	caps();
	return 0;
}
