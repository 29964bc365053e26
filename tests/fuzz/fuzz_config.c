/*
 * Fuzz target for config_parse_buffer. Invariants: a failure is RB_E_CONFIG
 * with a message starting "fuzz.conf" and leaves the config untouched; a
 * success dumps to text that parses again to the same dump.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/config.h"

#define REQUIRE(c)                                                                               \
	do {                                                                                     \
		if (!(c))                                                                        \
			abort();                                                                 \
	} while (0)

static char *dump(const struct rb_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);
	REQUIRE(m != NULL);
	config_dump(c, m);
	fclose(m);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rb_config c, before;
	struct rb_err err = {0};
	config_defaults(&c);
	before = c;
	enum rb_code rc = config_parse_buffer((const char *)data, size, "fuzz.conf", &c, &err);
	if (rc != RB_OK) {
		REQUIRE(rc == RB_E_CONFIG || rc == RB_E_NOMEM);
		REQUIRE(strncmp(err.msg, "fuzz.conf", 9) == 0);
		REQUIRE(memcmp(&c, &before, sizeof c) == 0);
		return 0;
	}
	size_t l1, l2;
	char *d1 = dump(&c, &l1);
	struct rb_config c2;
	config_defaults(&c2);
	rc = config_parse_buffer(d1, l1, "fuzz.conf", &c2, &err);
	REQUIRE(rc == RB_OK);
	char *d2 = dump(&c2, &l2);
	REQUIRE(l1 == l2 && memcmp(d1, d2, l1) == 0);
	free(d1);
	free(d2);
	return 0;
}
