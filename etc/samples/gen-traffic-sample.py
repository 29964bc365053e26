#!/usr/bin/env python3
# Writes etc/samples/traffic-sample.json: a synthetic Druid timeseries result
# (90 one-minute rows of the traffic model's 11 metrics) with one obvious
# spike, for etc/demo-offline.sh and the tests. Deterministic (own LCG, no random
# module), so re-running it reproduces the committed file byte for byte.
#   python3 etc/samples/gen-traffic-sample.py > etc/samples/traffic-sample.json
import json
import math
import sys

START_EPOCH = 1710237600  # 2024-03-12T10:00:00Z, a Tuesday
ROWS = 90
SPIKE_ROW = 55            # 2024-03-12T10:55:00Z: bytes x8, packets x5
SECONDS = 60              # granularity of the query (minute)

state = 20240312


def uniform():
    """Uniform in [0, 1) from a 32-bit LCG (Numerical Recipes constants)."""
    global state
    state = (1664525 * state + 1013904223) % (1 << 32)
    return state / float(1 << 32)


def noise(scale):
    """Roughly normal, mean 1: the mean of four uniforms, widened."""
    u = sum(uniform() for _ in range(4)) / 4.0 - 0.5
    return 1.0 + scale * u * 3.4


def stamp(epoch):
    days, sec = divmod(epoch, 86400)
    # civil date from days since 1970-01-01 (proleptic Gregorian)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y += m <= 2
    return "%04d-%02d-%02dT%02d:%02d:%02d.000Z" % (y, m, d, sec // 3600, sec % 3600 // 60, sec % 60)


rows = []
for i in range(ROWS):
    trend = 1.0 + 0.15 * math.sin(2 * math.pi * i / 240.0)
    clients = float(max(20, round(42 * trend * noise(0.05))))
    flows = max(1, round(1900 * trend * noise(0.08)))
    pkts = max(1, round(210000 * trend * noise(0.10)))
    bytes_ = max(1, round(pkts * 820 * noise(0.06)))
    if i == SPIKE_ROW:
        bytes_ *= 8
        pkts *= 5
    bps = bytes_ * 8 / SECONDS
    pps = pkts / SECONDS
    fps = flows / SECONDS
    rows.append({
        "timestamp": stamp(START_EPOCH + i * SECONDS),
        "result": {
            "bits_per_sec_per_client": bps / clients,
            "bps": bps,
            "bytes": bytes_,
            "bytes_per_client": bytes_ / clients,
            "clients": clients,
            "flows": flows,
            "flows_per_client": flows / clients,
            "flows_per_sec_per_client": fps / clients,
            "fps": fps,
            "pkts": pkts,
            "pps": pps,
        },
    })

json.dump(rows, sys.stdout, indent=1)
sys.stdout.write("\n")
