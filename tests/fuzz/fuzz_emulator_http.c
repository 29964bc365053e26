/*
 * Fuzz target for rb-druid-emulator's HTTP request parser (try_request in
 * emu_http.c): any bytes as what a client sent on one connection, possibly
 * several pipelined requests. The first byte picks a fault mode so the
 * fault paths run too. Oracle: no crash or sanitizer report, and every
 * answer queued is an HTTP/1.1 status line with a Content-Length (or the
 * close fault, which answers nothing). No socket is opened (fd -1).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/emulator/emu_out.c"
#include "tests/emulator/emu_time.c"
#include "tests/emulator/emu_data.c"
#include "tests/emulator/emu_query.c"
#include "tests/emulator/emu_http.c"

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
	if (size < 1 || size > 200000)
		return 0;
	static const enum emu_fault FAULTS[] = {EMU_FAULT_NONE,  EMU_FAULT_NONE,      EMU_FAULT_GARBAGE,
	                                        EMU_FAULT_STATUS, EMU_FAULT_OVERSIZED, EMU_FAULT_CLOSE,
	                                        EMU_FAULT_TRUNCATE};
	struct emu_config cf = {
		.listen_host = "127.0.0.1",
		.seed = 42,
		.max_body = 65536,
		.timeout_ms = 1000,
		.max_conns = 1,
		.fault = FAULTS[data[0] % (sizeof FAULTS / sizeof FAULTS[0])],
		.fault_arg = data[0] % 2 ? 1000 : 503,
	};
	struct server sv;
	memset(&sv, 0, sizeof sv);
	sv.conf = &cf;
	emu_buf_init(&sv.last_query, cf.max_body + 1);
	struct conn c;
	memset(&c, 0, sizeof c);
	c.fd = -1;
	emu_buf_init(&c.out, EMU_MAX_RESPONSE + 4096);
	c.in = malloc(size - 1 + 1);
	REQUIRE(c.in != NULL);
	memcpy(c.in, data + 1, size - 1);
	c.inlen = c.incap = size - 1;
	for (int k = 0; k < 32 && c.inlen > 0; k++) {
		c.st = ST_READ;
		if (!try_request(&sv, &c))
			break;
		if (c.close_now)
			break;
		REQUIRE(c.out.p != NULL && c.out.len > 12 && memcmp(c.out.p, "HTTP/1.1 ", 9) == 0);
		REQUIRE(strstr(c.out.p, "\r\nContent-Length: ") != NULL);
		if (c.close_after)
			break;
		conn_reset_out(&c);
	}
	free(c.in);
	emu_buf_free(&c.out);
	emu_buf_free(&sv.last_query);
	return 0;
}
