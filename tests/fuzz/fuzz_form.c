/*
 * Fuzz target for form_parse and request_fields_decode. The first input byte
 * picks the Content-Type: 0 mod 3 urlencoded, 1 multipart with boundary
 * "XyZ", 2 the text up to the first '\n' of the rest (then the body follows).
 * Small caps so the fuzzer reaches them. Invariants checked: every stored
 * field is found by form_get with the same bytes and is NUL-terminated, names
 * hold no NUL, counts stay within the caps, and request_fields_decode leaves
 * a releasable request whatever it returns.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/form.h"
#include "rb/fcgi/names.h"
#include "rb/fcgi/request_fields.h"

#define REQUIRE(c)                                                                               \
	do {                                                                                     \
		if (!(c))                                                                        \
			abort();                                                                 \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	char ct[256];
	const char *content_type = NULL;
	switch (data[0] % 3) {
	case 0:
		content_type = "application/x-www-form-urlencoded";
		break;
	case 1:
		content_type = "multipart/form-data; boundary=XyZ";
		break;
	default: {
		const char *nl = memchr(body, '\n', len);
		size_t cl = nl != NULL ? (size_t)(nl - body) : len;
		if (cl >= sizeof ct)
			cl = sizeof ct - 1;
		memcpy(ct, body, cl);
		ct[cl] = '\0';
		content_type = ct;
		size_t skip = nl != NULL ? (size_t)(nl - body) + 1 : len;
		body += skip;
		len -= skip;
	}
	}

	struct form_limits lim;
	form_limits_default(&lim);
	lim.max_body = 1 << 20;
	lim.max_name = 16;
	lim.max_value = 4096;
	lim.max_fields = 8;
	lim.max_pairs = 256;
	struct form *f = NULL;
	struct rb_err err = {0};
	enum rb_code rc = form_parse(content_type, body, len, &lim, &f, &err);
	if (rc != RB_OK) {
		REQUIRE(f == NULL);
		REQUIRE(rc == RB_E_INPUT || rc == RB_E_TOO_LARGE || rc == RB_E_NOMEM);
		REQUIRE(err.msg[0] != '\0');
		return 0;
	}
	REQUIRE(form_count(f) <= lim.max_fields);
	for (size_t i = 0; i < form_count(f); i++) {
		const char *value = NULL;
		size_t vlen = 0, glen = 0;
		const char *name = form_field(f, i, &value, &vlen);
		REQUIRE(name != NULL && value != NULL);
		REQUIRE(strlen(name) <= lim.max_name && vlen <= lim.max_value);
		REQUIRE(value[vlen] == '\0');
		REQUIRE(form_get(f, name, &glen) == value && glen == vlen);
	}
	struct rb_request req;
	rc = request_fields_decode(f, 4096, &req, &err);
	if (rc == RB_OK) {
		REQUIRE(req.data != NULL || req.query != NULL);
		REQUIRE(req.data == NULL || req.query == NULL);
		REQUIRE(req.model_status != RB_MODEL_NAMED ||
		        names_model_ok(req.model, strlen(req.model)));
		REQUIRE(!req.has_sensitivity || (req.sensitivity >= 0.0 && req.sensitivity <= 1.0));
	} else {
		REQUIRE(rc == RB_E_INPUT || rc == RB_E_TOO_LARGE || rc == RB_E_NOMEM);
	}
	request_fields_release(&req);
	form_free(f);
	return 0;
}
