#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Hostile SMTP clients for the fault suite.

  fault_client.py slowloris N SRC DST PORT SECONDS
      N connections from SRC that read the greeting and then dribble one
      byte of an endless line every 0.3 s for at most SECONDS; prints one
      line per connection: "closed AFTER_S LAST_REPLY" or "open".
  fault_client.py flood N SRC DST PORT HOLD_S
      open N connections from SRC as fast as possible, read each first
      reply, hold them HOLD_S; prints "220 A", "421 B", "other C", "fail D".
  fault_client.py hold N SRCS DST PORT NOOP_S SECS
      N connections, spread over SRCS (A.B.C.X-Y: those addresses in turn),
      each reads its greeting and sends NOOP every NOOP_S seconds (0:
      never), for at most SECS; prints "greeted A refused B lifetime C
      busy D idle E stalled F other G open H": refused = 421 instead of a
      greeting, lifetime/busy/idle/stalled = closed by the server after a
      421 saying "session time limit", "too busy", "idle timeout" or "too
      many commands without progress".
  fault_client.py session SRC DST PORT [DOMAIN]
      one normal reject session; prints "RCPT_REPLY_CODE SECONDS".
  fault_client.py reuse SRC SRCPORT DST PORT DOMAIN
      two sessions in a row from the same source address and port (the
      server closes first, so its side of the first is in TIME_WAIT);
      prints "FIRST_CODE FIRST_S SECOND_CODE SECOND_S".
"""
import selectors
import socket
import sys
import time


def connect(src, dst, port, timeout=5.0, sport=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport))
    s.connect((dst, port))
    return s


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return None
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return b"".join(lines).decode("ascii", "replace").strip()


def session(src, dst, port, domain="gated.test", sport=0, quiet=False):
    t0 = time.monotonic()
    code = "none"
    try:
        s = connect(src, dst, port, sport=sport)
        f = s.makefile("rwb")
        read_reply(f)
        rcpt = b"RCPT TO:<u@" + domain.encode() + b">"
        for cmd in (b"EHLO ok.test", b"MAIL FROM:<a@ok.test>", rcpt, b"QUIT"):
            f.write(cmd + b"\r\n")
            f.flush()
            r = read_reply(f)
            if cmd.startswith(b"RCPT"):
                code = r[:3] if r else "none"
        # Let the server close first (its side then holds TIME_WAIT).
        f.read()
        f.close()
        s.close()
    except OSError as e:
        code = "error:" + type(e).__name__
    if quiet:
        return code, time.monotonic() - t0
    print(code, "%.3f" % (time.monotonic() - t0))


def slowloris(n, src, dst, port, secs):
    conns = []
    for _ in range(n):
        try:
            s = connect(src, dst, port)
            greet = s.recv(512)
            s.setblocking(False)
            conns.append([s, time.monotonic(), None, greet.decode("ascii", "replace").strip()])
        except OSError as e:
            conns.append([None, time.monotonic(), 0.0, "connect:" + type(e).__name__])
    end = time.monotonic() + secs
    while time.monotonic() < end and any(c[2] is None for c in conns):
        for c in conns:
            if c[2] is not None:
                continue
            s = c[0]
            try:
                data = s.recv(512)
                if data:
                    c[3] = data.decode("ascii", "replace").strip()
                else:
                    c[2] = time.monotonic() - c[1]
                    continue
            except BlockingIOError:
                pass
            except OSError:
                c[2] = time.monotonic() - c[1]
                continue
            try:
                s.send(b"X")
            except BlockingIOError:
                pass
            except OSError:
                c[2] = time.monotonic() - c[1]
        time.sleep(0.3)
    for c in conns:
        if c[2] is None:
            print("open")
        else:
            print("closed %.2f %s" % (c[2], c[3].splitlines()[-1] if c[3] else "-"))
        if c[0]:
            c[0].close()


def flood(n, src, dst, port, hold):
    counts = {"220": 0, "421": 0, "other": 0, "fail": 0}
    socks = []
    sel = selectors.DefaultSelector()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((src, 0))
        try:
            s.connect((dst, port))
        except BlockingIOError:
            pass
        except OSError:
            counts["fail"] += 1
            continue
        socks.append(s)
        sel.register(s, selectors.EVENT_READ)
    pending = len(socks)
    end = time.monotonic() + 10
    while pending and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(512)
            except OSError:
                data = b""
            code = data[:3].decode("ascii", "replace")
            counts[code if code in ("220", "421") else ("fail" if not data else "other")] += 1
            sel.unregister(s)
            pending -= 1
    counts["fail"] += pending
    print(" ".join("%s %d" % kv for kv in counts.items()), flush=True)
    time.sleep(hold)
    for s in socks:
        s.close()


def hold(n, srcs, dst, port, noop_s, secs):
    prefix, _, rng = srcs.rpartition(".")
    lo, _, hi = rng.partition("-")
    addrs = ["%s.%d" % (prefix, i) for i in range(int(lo), int(hi or lo) + 1)]
    counts = dict.fromkeys(("greeted", "refused", "lifetime", "busy", "idle", "stalled", "other",
                            "open"), 0)
    conns = []  # [sock, text seen, closed]
    for i in range(n):
        try:
            s = connect(addrs[i % len(addrs)], dst, port)
            greet = s.recv(512).decode("ascii", "replace")
        except OSError:
            counts["other"] += 1
            continue
        if greet.startswith("220"):
            counts["greeted"] += 1
            s.setblocking(False)
            conns.append([s, "", False])
        else:
            counts["refused" if greet.startswith("421") else "other"] += 1
            s.close()
    end = time.monotonic() + secs
    next_noop = time.monotonic() + noop_s if noop_s > 0 else end + 1
    while time.monotonic() < end and not all(c[2] for c in conns):
        if time.monotonic() >= next_noop:
            for c in conns:
                if not c[2]:
                    try:
                        c[0].send(b"NOOP\r\n")
                    except OSError:
                        pass
            next_noop += noop_s
        for c in conns:
            if c[2]:
                continue
            try:
                data = c[0].recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            c[1] += data.decode("ascii", "replace")
            if not data:
                c[2] = True
                last = c[1].strip().splitlines()[-1] if c[1].strip() else ""
                kind = "other"
                for k, text in (("lifetime", "session time limit"), ("busy", "too busy"),
                                ("idle", "idle timeout"),
                                ("stalled", "too many commands without progress")):
                    if last.startswith("421") and text in last:
                        kind = k
                counts[kind] += 1
                c[0].close()
        time.sleep(0.05)
    counts["open"] = sum(1 for c in conns if not c[2])
    print(" ".join("%s %d" % kv for kv in counts.items()), flush=True)
    for c in conns:
        if not c[2]:
            c[0].close()


mode = sys.argv[1]
if mode == "session":
    session(sys.argv[2], sys.argv[3], int(sys.argv[4]), *(sys.argv[5:6]))
elif mode == "reuse":
    sport = int(sys.argv[3])
    a = session(sys.argv[2], sys.argv[4], int(sys.argv[5]), sys.argv[6], sport, True)
    time.sleep(0.2)
    b = session(sys.argv[2], sys.argv[4], int(sys.argv[5]), sys.argv[6], sport, True)
    print("%s %.3f %s %.3f" % (a[0], a[1], b[0], b[1]))
elif mode == "slowloris":
    slowloris(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
elif mode == "flood":
    flood(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
elif mode == "hold":
    hold(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]),
         float(sys.argv[7]))
else:
    sys.exit("usage: fault_client.py slowloris|flood|hold|session ...")
