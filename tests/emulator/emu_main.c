/*
 * rb-druid-emulator: command line of the TEST AND DEMO FIXTURE that answers
 * Druid timeseries queries over the generated rb_flow dataset. Not Druid, not
 * installed with the service. Usage and semantics: docs/EMULATOR.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"

static void usage(FILE *f)
{
	fputs("usage: rb-druid-emulator --listen HOST:PORT [options]\n"
	      "A test and demo fixture: answers Druid timeseries queries (POST /druid/v2/) over a\n"
	      "generated rb_flow dataset (2023-09-01/2023-11-01). See docs/EMULATOR.md.\n"
	      "  --listen HOST:PORT   numeric IPv4 address; port 0 picks a free port.\n"
	      "                       Prints \"listening HOST:PORT\" on stdout once ready.\n"
	      "  --seed N             noise seed of the dataset (default 42)\n"
	      "  --max-body BYTES     request body cap, 413 past it (default 1048576)\n"
	      "  --timeout-ms N       a request must arrive within N ms (default 10000)\n"
	      "  --max-conns N        concurrent connections (default 64)\n"
	      "  --log FILE|-         one JSON line per request with the body verbatim\n"
	      "fault injection (for tests of the service; applies to POST /druid/v2 only):\n"
	      "  --fault-delay-ms N   wait N ms before answering\n"
	      "  --fault garbage      answer 200 with a body that is not JSON\n"
	      "  --fault oversized N  answer 200 with a valid-looking JSON body of N bytes\n"
	      "  --fault status CODE  answer HTTP CODE with a Druid-shaped error body\n"
	      "  --fault close        close the connection without answering\n"
	      "  --fault truncate     announce the full length, send half the body, close\n",
	      f);
}

/* Full-string unsigned parse with a range; -1 on junk. */
static int parse_ull(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct emu_config cf = {
		.listen_host = NULL,
		.listen_port = 0,
		.seed = 42,
		.max_body = 1 << 20,
		.timeout_ms = 10000,
		.max_conns = 64,
		.log_path = NULL,
		.fault_delay_ms = 0,
		.fault = EMU_FAULT_NONE,
		.fault_arg = 0,
	};
	char host[64];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long long x;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (v == NULL)
			goto bad;
		if (strcmp(a, "--listen") == 0) {
			const char *colon = strrchr(v, ':');
			if (colon == NULL || (size_t)(colon - v) >= sizeof host || parse_ull(colon + 1, 0, 65535, &x))
				goto bad;
			memcpy(host, v, (size_t)(colon - v));
			host[colon - v] = '\0';
			cf.listen_host = host;
			cf.listen_port = (int)x;
		} else if (strcmp(a, "--seed") == 0) {
			if (parse_ull(v, 0, ~0ULL, &x))
				goto bad;
			cf.seed = x;
		} else if (strcmp(a, "--max-body") == 0) {
			if (parse_ull(v, 1, 64u << 20, &x))
				goto bad;
			cf.max_body = (size_t)x;
		} else if (strcmp(a, "--timeout-ms") == 0) {
			if (parse_ull(v, 1, 3600000, &x))
				goto bad;
			cf.timeout_ms = (int)x;
		} else if (strcmp(a, "--max-conns") == 0) {
			if (parse_ull(v, 1, 1000, &x))
				goto bad;
			cf.max_conns = (int)x;
		} else if (strcmp(a, "--log") == 0) {
			cf.log_path = v;
		} else if (strcmp(a, "--fault-delay-ms") == 0) {
			if (parse_ull(v, 0, 3600000, &x))
				goto bad;
			cf.fault_delay_ms = (int)x;
		} else if (strcmp(a, "--fault") == 0) {
			if (strcmp(v, "garbage") == 0) {
				cf.fault = EMU_FAULT_GARBAGE;
			} else if (strcmp(v, "close") == 0) {
				cf.fault = EMU_FAULT_CLOSE;
			} else if (strcmp(v, "truncate") == 0) {
				cf.fault = EMU_FAULT_TRUNCATE;
			} else if (strcmp(v, "status") == 0 || strcmp(v, "oversized") == 0) {
				int st = v[0] == 's';
				if (i + 2 >= argc ||
				    parse_ull(argv[i + 2], st ? 100 : 2, st ? 599 : (1ULL << 40), &x))
					goto bad;
				cf.fault = st ? EMU_FAULT_STATUS : EMU_FAULT_OVERSIZED;
				cf.fault_arg = (long long)x;
				i++;
			} else {
				goto bad;
			}
		} else {
			goto bad;
		}
		i++;
		continue;
	bad:
		fprintf(stderr, "rb-druid-emulator: bad or incomplete option \"%s\"\n", a);
		usage(stderr);
		return 2;
	}
	if (cf.listen_host == NULL) {
		usage(stderr);
		return 2;
	}
	return emu_http_serve(&cf);
}
