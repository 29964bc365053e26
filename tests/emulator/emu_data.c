/*
 * emu_data: the synthetic rb_flow datasource of rb-druid-emulator (a test
 * and demo fixture). 1-minute rolled-up rows from 2023-09-01T00:00Z to
 * 2023-11-01T00:00Z (exclusive) for three sensors and their clients, with
 * working-hour and weekend patterns, seeded noise and a fixed list of injected
 * anomalies (docs/EMULATOR.md). Every row is a pure function of
 * (seed, series, minute): nothing is stored, any minute is generated on demand.
 * Not here: query semantics (emu_query.c), real traffic statistics.
 */
#include <math.h>
#include <string.h>

#include "emu.h"

/* A client (one IP behind one sensor); each has two series, ingress and egress. */
struct client {
	int sensor;         /* index into SENSORS */
	const char *ip;
	int app;            /* index into APPS */
	double weight;      /* share of the sensor's traffic */
	int primary;        /* always active (keeps the sensor's buckets non-empty) */
	int scanner;        /* only exists during anomaly A6 */
};

static const struct {
	const char *name;
	double scale;
} SENSORS[] = {
	{"FlowSensor", 1.0},
	{"FlowSensor2", 0.35},
	{"ASA-Gateway", 2.2},
};

static const char *const APPS[] = {"http", "ssl", "dns", "smtp", "ssh", "ntp", "ipsec", "unknown"};
enum { APP_HTTP, APP_SSL, APP_DNS, APP_SMTP, APP_SSH, APP_NTP, APP_IPSEC, APP_UNKNOWN };

static const char *const DIRECTIONS[] = {"ingress", "egress"};

static const struct client CLIENTS[] = {
	{0, "10.0.1.10", APP_HTTP, 1.6, 1, 0},
	{0, "10.0.1.11", APP_SSL, 1.2, 0, 0},
	{0, "10.0.1.12", APP_SSL, 1.0, 0, 0},
	{0, "10.0.1.13", APP_DNS, 0.9, 0, 0},
	{0, "10.0.1.14", APP_SMTP, 0.8, 0, 0},
	{0, "10.0.1.15", APP_SSH, 0.5, 0, 0},
	{0, "10.0.1.66", APP_UNKNOWN, 0.0, 0, 1},
	{1, "10.0.2.20", APP_SSL, 1.4, 1, 0},
	{1, "10.0.2.21", APP_HTTP, 1.0, 0, 0},
	{1, "10.0.2.22", APP_SSL, 0.8, 0, 0},
	{1, "10.0.2.23", APP_NTP, 0.3, 0, 0},
	{2, "192.168.100.1", APP_SSL, 1.5, 1, 0},
	{2, "192.168.100.2", APP_SSL, 1.1, 0, 0},
	{2, "192.168.100.3", APP_HTTP, 1.0, 0, 0},
	{2, "192.168.100.4", APP_IPSEC, 0.9, 0, 0},
	{2, "192.168.100.5", APP_DNS, 0.4, 0, 0},
};
#define NCLIENTS ((int)(sizeof CLIENTS / sizeof CLIENTS[0]))
#define NSERIES (2 * NCLIENTS)
_Static_assert(2 * (sizeof CLIENTS / sizeof CLIENTS[0]) <= EMU_MAX_SERIES, "series mask is 64 bits");

/* Injected anomalies (UTC ms; windows are [start, end)). Listed in docs/EMULATOR.md. */
#define A1_START 1695288660000LL /* 2023-09-21T09:31Z FlowSensor 10.0.1.11 bytes/flow x6 */
#define A1_END 1695288840000LL   /* 2023-09-21T09:34Z */
#define A2_START 1695884400000LL /* 2023-09-28T07:00Z FlowSensor 10.0.1.13 flows x4, bytes/flow x5 */
#define A2_END 1695884700000LL   /* 2023-09-28T07:05Z */
#define A3_START 1696500000000LL /* 2023-10-05T10:00Z FlowSensor all clients flows x0.15 */
#define A3_END 1696503600000LL   /* 2023-10-05T11:00Z */
#define A4_START 1696946400000LL /* 2023-10-10T14:00Z FlowSensor2 outage: no rows */
#define A4_END 1696953600000LL   /* 2023-10-10T16:00Z */
#define A5_START 1697414400000LL /* 2023-10-16T00:00Z ASA-Gateway level shift to the end */
#define A6_START 1697680800000LL /* 2023-10-19T02:00Z FlowSensor scanner 10.0.1.66 */
#define A6_END 1697682600000LL   /* 2023-10-19T02:30Z */

static const char *const DIM_NAMES[EMU_NDIMS] = {"sensor_name", "ip", "application_id_name", "direction"};
static const char *const METRIC_NAMES[EMU_NMETRICS] = {"sum_bytes", "sum_pkts", "events", "clients"};

int emu_data_nseries(void)
{
	return NSERIES;
}

const char *emu_data_dim(int series, enum emu_dim d)
{
	const struct client *c = &CLIENTS[series / 2];
	switch (d) {
	case EMU_DIM_SENSOR: return SENSORS[c->sensor].name;
	case EMU_DIM_IP: return c->ip;
	case EMU_DIM_APP: return APPS[c->app];
	case EMU_DIM_DIRECTION: return DIRECTIONS[series % 2];
	default: return NULL;
	}
}

int emu_data_dim_id(int series, enum emu_dim d)
{
	const struct client *c = &CLIENTS[series / 2];
	switch (d) {
	case EMU_DIM_SENSOR: return c->sensor;
	case EMU_DIM_IP: return series / 2; /* every client has its own IP */
	case EMU_DIM_APP: return c->app;
	case EMU_DIM_DIRECTION: return series % 2;
	default: return -1;
	}
}

int emu_data_dim_by_name(const char *name)
{
	for (int i = 0; i < EMU_NDIMS; i++)
		if (strcmp(name, DIM_NAMES[i]) == 0)
			return i;
	return -1;
}

int emu_data_metric_by_name(const char *name)
{
	for (int i = 0; i < EMU_NMETRICS; i++)
		if (strcmp(name, METRIC_NAMES[i]) == 0)
			return i;
	return -1;
}

/* splitmix64's finaliser: a bijective 64-bit mixer. */
static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1) from (seed, key, minute, stream). */
static double uniform(uint64_t seed, uint64_t key, int64_t minute, uint64_t stream)
{
	uint64_t h = mix64(mix64(mix64(seed) ^ (key * 0x100000001b3ULL + stream)) ^ (uint64_t)minute);
	return (double)(h >> 11) * 0x1.0p-53;
}

/* Approximately standard normal (Irwin-Hall of 4 uniforms, scaled to variance 1). */
static double gauss(uint64_t seed, uint64_t key, int64_t minute, uint64_t stream)
{
	double s = 0;
	for (uint64_t i = 0; i < 4; i++)
		s += uniform(seed, key, minute, stream * 8 + i);
	return (s - 2.0) * 1.7320508075688772;
}

/* Activity level in [0.15, 1]: working hours 06-20 UTC peaking at 13:00, weekends low. */
static double level(int64_t ms)
{
	int64_t days = emu_floor_div(ms, EMU_MS_DAY);
	int weekday = (int)(((days + 3) % 7 + 7) % 7); /* Monday = 0; 1970-01-01 was a Thursday */
	double h = (double)(ms - days * EMU_MS_DAY) / (double)EMU_MS_HOUR;
	double w = 0;
	if (h >= 6 && h < 20)
		w = 0.5 * (1 - cos(2 * M_PI * (h - 6) / 14));
	static const double WEEKDAY_FACTOR[7] = {1.0, 1.0, 1.0, 1.0, 0.85, 0.3, 0.25};
	return 0.15 + 0.85 * w * WEEKDAY_FACTOR[weekday];
}

static int client_active(uint64_t seed, int ci, int64_t ms, int64_t minute, double lvl)
{
	const struct client *c = &CLIENTS[ci];
	if (c->scanner)
		return ms >= A6_START && ms < A6_END;
	if (c->sensor == 1 && ms >= A4_START && ms < A4_END)
		return 0;
	if (c->primary)
		return 1;
	/* the clients behind anomalies A1 and A2 are present for their whole window */
	if ((ci == 1 && ms >= A1_START && ms < A1_END) || (ci == 3 && ms >= A2_START && ms < A2_END))
		return 1;
	return uniform(seed, (uint64_t)ci, minute, 1) < 0.5 + 0.45 * lvl;
}

/* The row of one series at minute ms (in range), given that minute's activity level. */
static int make_row(uint64_t seed, int series, int64_t ms, double lvl, struct emu_row *row)
{
	int ci = series / 2, egress = series % 2;
	const struct client *c = &CLIENTS[ci];
	int64_t minute = (ms - EMU_DATA_START_MS) / EMU_MS_MINUTE;
	if (!client_active(seed, ci, ms, minute, lvl))
		return 0;
	uint64_t key = (uint64_t)series + 1000;
	double flows, bpf, pkt_size;
	if (c->scanner) {
		flows = 3000.0 * (1 + 0.1 * gauss(seed, key, minute, 2));
		bpf = egress ? 60.0 : 80.0;
		pkt_size = 60.0;
	} else {
		flows = 420.0 * SENSORS[c->sensor].scale * c->weight * lvl * (egress ? 0.6 : 1.0);
		flows *= 1 + 0.12 * gauss(seed, key, minute, 2);
		bpf = 14000.0 * (egress ? 0.3 : 1.0) * (1 + 0.08 * gauss(seed, key, minute, 3));
		pkt_size = (egress ? 120.0 : 900.0) * (1 + 0.05 * gauss(seed, key, minute, 4));
		if (c->sensor == 0 && ci == 1 && ms >= A1_START && ms < A1_END)
			bpf *= 6;
		if (c->sensor == 0 && ci == 3 && ms >= A2_START && ms < A2_END) {
			flows *= 4;
			bpf *= 5;
		}
		if (c->sensor == 0 && ms >= A3_START && ms < A3_END)
			flows *= 0.15;
		if (c->sensor == 2 && ms >= A5_START) {
			flows *= 1.3;
			bpf *= 1.4;
		}
	}
	if (flows < 1)
		flows = 1;
	if (pkt_size < 40)
		pkt_size = 40;
	row->events = llround(flows);
	row->bytes = llround((double)row->events * (bpf < 40 ? 40 : bpf));
	row->pkts = llround((double)row->bytes / pkt_size);
	if (row->pkts < row->events)
		row->pkts = row->events;
	return 1;
}

int emu_data_row(uint64_t seed, int series, int64_t ms, struct emu_row *row)
{
	if (series < 0 || series >= NSERIES || ms < EMU_DATA_START_MS || ms >= EMU_DATA_END_MS ||
	    ms % EMU_MS_MINUTE != 0)
		return 0;
	return make_row(seed, series, ms, level(ms), row);
}

uint64_t emu_data_minute(uint64_t seed, int64_t ms, uint64_t mask, struct emu_row *rows)
{
	if (ms < EMU_DATA_START_MS || ms >= EMU_DATA_END_MS || ms % EMU_MS_MINUTE != 0)
		return 0;
	double lvl = level(ms);
	uint64_t present = 0;
	for (int s = 0; s < NSERIES; s++)
		if ((mask >> s & 1) && make_row(seed, s, ms, lvl, &rows[s]))
			present |= 1ULL << s;
	return present;
}
