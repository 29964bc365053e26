#!/usr/bin/env python3
"""idle_conns.py: how many idle (half-open) client connections a web server
takes before it stops answering, and how long it takes to answer again.

Opens TCP connections to HOST:PORT in steps of STEP up to MAX; each sends
nothing (--mode idle) or the first line of a request and then nothing
(--mode partial), and is kept open. After each step it times GET /health on a
new connection (timeout 2 s); the first step at which /health does not answer
200 is the stall point. Then it keeps every connection open, without sending,
and polls /health every 0.5 s until it answers 200 again (recovery: the
server dropped idle connections) or --hold seconds pass. Prints a few
"key: value" lines. A measurement tool (bench/idle_conns.sh runs it), not a
test: it never fails on the numbers.
"""
import argparse
import resource
import socket
import time


def health(host, port, timeout=2.0):
    """(status or None, milliseconds) of GET /health on a new connection."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection((host, port), timeout=timeout)
        s.settimeout(timeout)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        parts = data.split(b" ", 2)
        status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    except OSError:
        status = None
    return status, (time.monotonic() - t0) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--step", type=int, default=100)
    ap.add_argument("--max", type=int, default=3000)
    ap.add_argument("--hold", type=float, default=90.0)
    ap.add_argument("--mode", choices=["idle", "partial"], default="idle")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, a.max + 100)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    conns = []
    stall = None
    worst_ok = 0.0
    t_open = time.monotonic()
    while len(conns) < a.max:
        for _ in range(a.step):
            try:
                s = socket.create_connection((a.host, a.port), timeout=2.0)
                if a.mode == "partial":
                    s.sendall(b"GET /health HTTP/1.1\r\n")
                conns.append(s)
            except OSError:
                break
        status, ms = health(a.host, a.port)
        if status != 200:
            stall = len(conns)
            break
        worst_ok = max(worst_ok, ms)
    print("mode: %s" % a.mode)
    print("connections opened: %d in %.1f s" % (len(conns), time.monotonic() - t_open))
    print("slowest /health before the stall: %.1f ms" % worst_ok)
    if stall is None:
        print("stall: none up to %d connections" % len(conns))
        return
    print("stall: /health fails with %d idle connections open" % stall)
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.hold:
        status, ms = health(a.host, a.port)
        if status == 200:
            print("recovered: /health 200 %.1f s after the stall (connections still held by the"
                  " client: %d)" % (time.monotonic() - t0, len(conns)))
            break
        time.sleep(0.5)
    else:
        print("recovered: no, /health still failing after %.0f s" % a.hold)
    alive = 0
    for s in conns:
        try:
            s.setblocking(False)
            if s.recv(1) == b"":
                continue
            alive += 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    print("connections the server still keeps open at the end: %d of %d" % (alive, len(conns)))
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
