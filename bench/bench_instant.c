/*
 * bench_instant: our ISO-8601 instant parser (core/input/instant.c) against
 * the C library route a maintainer would write instead: strptime() for the
 * date and time fields, timegm() for the epoch, the fraction by hand (the C
 * library has no fractional seconds) and glibc's "%z" for the zone. Two
 * tables, for docs/DEPENDENCIES.md:
 *   1. agreement on the strings of tests/test_instant.c (tests/testutil/instant_cases.h): every
 *      string where the library route accepts what we refuse, refuses what
 *      we accept, or gives another instant;
 *   2. CPU time per call on 10,080 one-minute timestamps as Druid writes
 *      them ("2023-09-21T09:00:00.000Z") and with an offset
 *      ("2023-09-21T11:00:00.000+02:00"), the two parsers interleaved run by
 *      run in one process; median over runs of the mean ns per call.
 * Also the ISO-8601 period parser (core/input/period.c), alone: the C
 * library has no duration parser, so it is timed only to show its cost per
 * request (one call per request).
 * Usage: bench_instant [runs (default 9)]. Not a test; no timing is asserted.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rb/input/period.h"
#include "rb/input/series.h"
#include "tests/testutil/instant_cases.h"

/*
 * The library route: 0 and *epoch, or -1. Written as the natural use of the
 * C library, not as a reimplementation of our contract: the fields and their
 * ranges are strptime's, the calendar is timegm's.
 */
static int lib_instant(const char *text, double *epoch)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *p = strptime(text, "%Y-%m-%dT%H:%M", &tm);
	if (p == NULL)
		return -1;
	if (*p == ':') {
		p = strptime(p, ":%S", &tm);
		if (p == NULL)
			return -1;
	}
	double frac = 0.0, scale = 0.1;
	if (*p == '.' || *p == ',') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10.0)
			frac += (*p - '0') * scale;
	}
	long offset = 0;
	if (*p != '\0') {
		struct tm z;
		memset(&z, 0, sizeof z);
		p = strptime(p, "%z", &z);
		if (p == NULL)
			return -1;
		offset = z.tm_gmtoff;
	}
	if (*p != '\0')
		return -1;
	time_t t = timegm(&tm);
	*epoch = (double)(t - offset) + frac;
	return 0;
}

/* The strings of tests/test_instant.c: case k < INSTANT_NVALID is instant_valid[k], the rest
 * are instant_invalid (NAN: must be refused). */
#define NCASES (INSTANT_NVALID + INSTANT_NINVALID)

static const char *case_text(size_t k)
{
	return k < INSTANT_NVALID ? instant_valid[k].text : instant_invalid[k - INSTANT_NVALID];
}

static double case_epoch(size_t k)
{
	return k < INSTANT_NVALID ? instant_valid[k].epoch : NAN;
}

/* Prints the cases where the library route breaks the contract; returns their count. */
static size_t agreement(void)
{
	size_t bad = 0;
	printf("| string | contract | strptime + timegm |\n|---|---|---|\n");
	for (size_t k = 0; k < NCASES; k++) {
		double want = case_epoch(k), ours = 0, lib = 0;
		int ok_ours = series_parse_instant(case_text(k), &ours) == 0;
		int ok_lib = lib_instant(case_text(k), &lib) == 0;
		if (ok_ours != !isnan(want) || (ok_ours && fabs(ours - want) > 1e-6)) {
			fprintf(stderr, "bench_instant: our parser fails its own test on \"%s\"\n",
			        case_text(k));
			exit(1);
		}
		char lib_says[64];
		if (!ok_lib)
			snprintf(lib_says, sizeof lib_says, "refused");
		else
			snprintf(lib_says, sizeof lib_says, "%.6f", lib);
		int agree = ok_lib == ok_ours && (!ok_lib || fabs(lib - ours) <= 1e-6);
		if (agree)
			continue;
		bad++;
		char shown[80];
		size_t o = 0;
		for (const char *s = case_text(k); *s != '\0' && o + 5 < sizeof shown; s++) {
			if (*s == '\n') {
				memcpy(shown + o, "\\n", 2);
				o += 2;
			} else {
				shown[o++] = *s;
			}
		}
		shown[o] = '\0';
		char contract[64];
		if (ok_ours)
			snprintf(contract, sizeof contract, "%.6f", ours);
		else
			snprintf(contract, sizeof contract, "refused: %s", series_instant_error(case_text(k), NULL));
		printf("| `%s` | %s | %s |\n", shown, contract, lib_says);
	}
	printf("\n%zu of %zu strings of tests/test_instant.c handled differently by the library route\n\n",
	       bad, NCASES);
	return bad;
}

#define NTS 10080

/* n one-minute timestamps from 2023-09-21T09:00Z, Druid's form or local time at +02:00. */
static char (*make_stamps(int offset))[40]
{
	char (*ts)[40] = malloc(NTS * sizeof *ts);
	if (ts == NULL)
		exit(1);
	for (size_t i = 0; i < NTS; i++) {
		time_t t = 1695286800 + (time_t)(60 * i) + (offset ? 7200 : 0);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts[i], sizeof ts[i], offset ? "%Y-%m-%dT%H:%M:%S.000+02:00" : "%Y-%m-%dT%H:%M:%S.000Z",
		         &tm);
	}
	return ts;
}

static volatile double sink;

/* Mean CPU ns per call over the stamps, the library route or ours; checks both agree. */
static double time_calls(char (*ts)[40], int lib)
{
	double sum = 0;
	double t0 = bench_cpu_us();
	for (size_t i = 0; i < NTS; i++) {
		double e;
		int rc = lib ? lib_instant(ts[i], &e) : series_parse_instant(ts[i], &e);
		if (rc != 0 || e != 1695286800.0 + 60.0 * (double)i) {
			fprintf(stderr, "bench_instant: %s read wrong by the %s route\n", ts[i],
			        lib ? "library" : "own");
			exit(1);
		}
		sum += e;
	}
	double us = bench_cpu_us() - t0;
	sink = sum;
	return us * 1000.0 / NTS;
}

int main(int argc, char **argv)
{
	int runs = bench_runs_arg(argc, argv, 9, "bench_instant");
	agreement();

	double *a = malloc((size_t)runs * sizeof *a), *b = malloc((size_t)runs * sizeof *b);
	if (a == NULL || b == NULL)
		return 1;
	printf("| timestamps (10,080, one minute apart) | strptime + timegm ns/call | ours ns/call | ratio |\n");
	printf("|---|---:|---:|---:|\n");
	for (int offset = 0; offset <= 1; offset++) {
		char (*ts)[40] = make_stamps(offset);
		for (int r = 0; r < runs; r++) {
			a[r] = time_calls(ts, 1);
			b[r] = time_calls(ts, 0);
		}
		double ma = bench_median(a, (size_t)runs), mb = bench_median(b, (size_t)runs);
		printf("| `%s` | %.0f | %.0f | %.1f |\n", ts[0], ma, mb, ma / mb);
		free(ts);
	}

	static const char *const periods[] = {"PT1M", "PT5M", "PT1H", "P1D", "P1W", "PT0.5S", "P1DT1H1M1.5S"};
	printf("\n| period | ours ns/call |\n|---|---:|\n");
	for (size_t k = 0; k < sizeof periods / sizeof periods[0]; k++) {
		size_t len = strlen(periods[k]);
		for (int r = 0; r < runs; r++) {
			double t0 = bench_cpu_us();
			int64_t total = 0;
			for (int i = 0; i < 100000; i++) {
				int64_t ms = 0;
				if (period_parse_ms(periods[k], len, &ms, NULL) != RB_OK)
					return 1;
				total += ms;
			}
			a[r] = (bench_cpu_us() - t0) * 1000.0 / 100000;
			sink = (double)total;
		}
		printf("| `%s` | %.0f |\n", periods[k], bench_median(a, (size_t)runs));
	}
	free(a);
	free(b);
	return 0;
}
