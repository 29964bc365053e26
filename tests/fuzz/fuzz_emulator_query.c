/*
 * Fuzz target for rb-druid-emulator's query engine (emu_query_run): any
 * bytes as a POST body. Oracle: no crash or sanitizer report, a success is a
 * JSON array that Jansson can read back, a failure has a Druid-shaped error
 * with a 4xx/5xx status. The engine's sources are included directly (the
 * emulator is a standalone fixture, not part of librbcore).
 */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "tests/emulator/emu_out.c"
#include "tests/emulator/emu_time.c"
#include "tests/emulator/emu_data.c"
#include "tests/emulator/emu_query.c"

/* Not assert(): the seeds also run in NDEBUG builds and the oracle must hold there. */
#define REQUIRE(c)                                                                                   \
	do {                                                                                         \
		if (!(c)) {                                                                          \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #c);     \
			abort();                                                                     \
		}                                                                                    \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0; /* the HTTP layer caps bodies at 1 MiB */
	struct emu_buf out;
	struct emu_err err;
	/* 4 MiB, not EMU_MAX_RESPONSE (64 MiB): the limit path is the same, and an input asking
	 * for years of groupBy buckets must not spend a fuzzer's timeout generating and parsing
	 * 64 MiB (it did: 11 s, a libFuzzer timeout in CI) */
	emu_buf_init(&out, 4u << 20);
	if (emu_query_run((const char *)data, size, 42, &out, &err) == 0) {
		json_t *j = json_loadb(out.p, out.len, 0, NULL);
		REQUIRE(json_is_array(j));
		json_decref(j);
	} else {
		REQUIRE(err.status >= 400 && err.status < 600);
		REQUIRE(err.error != NULL && err.error_class != NULL);
		struct emu_buf e;
		emu_buf_init(&e, 4096);
		emu_error_json(&err, &e);
		json_t *j = json_loadb(e.p, e.len, 0, NULL);
		REQUIRE(json_is_object(j));
		json_decref(j);
		emu_buf_free(&e);
	}
	emu_buf_free(&out);
	return 0;
}
