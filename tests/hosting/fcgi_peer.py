#!/usr/bin/env python3
"""fcgi_peer: a raw FastCGI peer for the hosting tests (what a web server or a hostile
one sends on the daemon's socket). Not a FastCGI library: only what the tests need.

  fcgi_peer.py get SOCK PATH                 one GET; prints "STATUS MS"
  fcgi_peer.py stall-params SOCK HOLD_S      BEGIN_REQUEST and half the params, then
                                             nothing; prints "closed MS" when the daemon
                                             drops the connection, "held MS" otherwise
  fcgi_peer.py slow-body SOCK LEN HOLD_S     a POST's params with CONTENT_LENGTH LEN, then
                                             the body at 1 byte/s; prints as stall-params
  fcgi_peer.py post SOCK PATH FILE [nolen]   a POST of FILE (nolen: without CONTENT_LENGTH,
                                             as Apache passes a chunked body); prints
                                             "STATUS MS" and the answer body on stderr
  fcgi_peer.py post-noread SOCK PATH FILE HOLD_S
                                             a POST of FILE whose answer it never reads
                                             (for HOLD_S seconds)
  fcgi_peer.py http-slow-body HOST:PORT LEN HOLD_S
                                             HTTP, to a web server: a POST with
                                             Content-Length LEN, its body at 1 byte/s
SOCK is a Unix socket path or host:port.
"""
import socket
import struct
import sys
import time

BEGIN, PARAMS, STDIN, STDOUT, STDERR, END = 1, 4, 5, 6, 7, 3


def connect(addr):
    if ":" in addr and not addr.startswith("/"):
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr)
    return s


def record(kind, content, rid=1):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, kind, rid, len(content), pad, 0) + content + b"\0" * pad


def nv(name, value):
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return ln(len(name)) + ln(len(value)) + name + value


def params(pairs):
    body = b"".join(nv(k, v) for k, v in pairs)
    out = b""
    for i in range(0, len(body), 65535):
        out += record(PARAMS, body[i:i + 65535])
    return out + record(PARAMS, b"")


def begin():
    return record(BEGIN, struct.pack(">HB5x", 1, 0))


def env(method, path, extra=()):
    return [("REQUEST_METHOD", method), ("REQUEST_URI", path), ("SCRIPT_NAME", path),
            ("SERVER_PROTOCOL", "HTTP/1.1")] + list(extra)


def read_answer(s):
    """Reads records until END_REQUEST; returns (status, body bytes)."""
    buf, out = b"", b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            _, kind, _, clen, pad, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + pad:
                break
            content = buf[8:8 + clen]
            buf = buf[8 + clen + pad:]
            if kind == STDOUT:
                out += content
            elif kind == END:
                return parse(out)
    return parse(out) if out else (0, b"")


def parse(out):
    head, _, body = out.partition(b"\r\n\r\n")
    status = 200
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"status:"):
            status = int(line.split()[1])
    return status, body


def held(s, hold_s, t0, trickle=None):
    """Waits up to hold_s for the daemon to close s, sending trickle() bytes each second."""
    s.settimeout(1.0)
    while time.monotonic() - t0 < hold_s:
        try:
            if s.recv(65536) == b"":
                return "closed %.0f" % ((time.monotonic() - t0) * 1e3)
        except socket.timeout:
            pass
        except OSError:
            return "closed %.0f" % ((time.monotonic() - t0) * 1e3)
        if trickle is not None:
            try:
                s.sendall(trickle())
            except OSError:
                return "closed %.0f" % ((time.monotonic() - t0) * 1e3)
    return "held %.0f" % ((time.monotonic() - t0) * 1e3)


def main(argv):
    cmd, addr = argv[1], argv[2]
    t0 = time.monotonic()
    s = connect(addr)
    if cmd == "http-slow-body":
        s.sendall(("POST /api/v1/outliers HTTP/1.1\r\nHost: localhost\r\nContent-Length: %s\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\n\r\n" % argv[3]).encode())
        print(held(s, float(argv[4]), t0, lambda: b"x"))
        return
    if cmd == "get":
        s.sendall(begin() + params(env("GET", argv[3])) + record(STDIN, b""))
        status, _ = read_answer(s)
        print("%d %.1f" % (status, (time.monotonic() - t0) * 1e3))
    elif cmd == "stall-params":
        p = params(env("GET", "/health"))
        s.sendall(begin() + p[:len(p) // 2])
        print(held(s, float(argv[3]), t0))
    elif cmd == "slow-body":
        n = int(argv[3])
        s.sendall(begin() + params(env("POST", "/api/v1/outliers", [
            ("CONTENT_LENGTH", str(n)),
            ("CONTENT_TYPE", "application/x-www-form-urlencoded")])))
        print(held(s, float(argv[4]), t0, lambda: record(STDIN, b"x")))
    elif cmd == "post":
        data = open(argv[4], "rb").read()
        extra = [("CONTENT_TYPE", "application/x-www-form-urlencoded")]
        if len(argv) < 6 or argv[5] != "nolen":
            extra.append(("CONTENT_LENGTH", str(len(data))))
        s.sendall(begin() + params(env("POST", argv[3], extra)))
        try:
            s.sendall(b"".join(record(STDIN, data[i:i + 32768])
                               for i in range(0, len(data), 32768)) + record(STDIN, b""))
        except OSError:
            pass  # the daemon may answer (413) and close before it has read everything
        status, body = read_answer(s)
        print("%d %.1f" % (status, (time.monotonic() - t0) * 1e3))
        sys.stderr.write(body.decode("utf-8", "replace")[:400] + "\n")
    elif cmd == "post-noread":
        data = open(argv[4], "rb").read()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(begin() + params(env("POST", argv[3], [
            ("CONTENT_TYPE", "application/x-www-form-urlencoded"),
            ("CONTENT_LENGTH", str(len(data)))])))
        s.sendall(b"".join(record(STDIN, data[i:i + 32768])
                           for i in range(0, len(data), 32768)) + record(STDIN, b""))
        time.sleep(float(argv[5]))
        print("slept")
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
