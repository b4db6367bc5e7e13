#!/usr/bin/python3
# Legitimate clients for bench/synflood: N connections to HOST:25, one
# started every INTERVAL seconds (each in its own thread, so a slow one
# does not delay the next), each given TIMEOUT seconds to complete its
# handshake and read the greeting. Prints
#   ok=K n=N hs_p50_ms=.. hs_p90_ms=.. hs_max_ms=.. fail=why:count,...
# where hs is the time connect() took (the TCP handshake) of the
# sessions that got a 220 greeting; a session counts as ok only with
# that greeting.
#   legit_connect.py HOST N INTERVAL TIMEOUT
import socket
import sys
import threading
import time

host, n, interval, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
n = max(1, min(n, 1000))
res = []
lock = threading.Lock()


def one():
    t0 = time.monotonic()
    try:
        s = socket.create_connection((host, 25), timeout=timeout)
        hs = (time.monotonic() - t0) * 1000
        s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
        line = s.recv(200).decode(errors="replace")
        s.close()
        r = (hs, None) if line.startswith("220") else (None, "reply")
    except socket.timeout:
        r = (None, "timeout")
    except ConnectionResetError:
        r = (None, "reset")
    except ConnectionRefusedError:
        r = (None, "refused")
    except OSError as e:
        r = (None, type(e).__name__)
    with lock:
        res.append(r)


threads = []
for i in range(n):
    t = threading.Thread(target=one)
    t.start()
    threads.append(t)
    time.sleep(interval)
for t in threads:
    t.join(timeout + 1)

hs = sorted(r[0] for r in res if r[0] is not None)
fails = {}
for r in res:
    if r[1]:
        fails[r[1]] = fails.get(r[1], 0) + 1
fails["unfinished"] = n - len(res)


def pct(p):
    return "%.1f" % hs[min(len(hs) - 1, int(p * len(hs)))] if hs else "nan"


print("ok=%d n=%d hs_p50_ms=%s hs_p90_ms=%s hs_max_ms=%s fail=%s" % (
    len(hs), n, pct(0.5), pct(0.9), "%.1f" % hs[-1] if hs else "nan",
    ",".join("%s:%d" % kv for kv in sorted(fails.items()) if kv[1]) or "none"))
