#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A raw SMTP client for tests: sends exactly the bytes it is told (garbage,
NULs, overlong or pipelined lines) and prints every reply line it gets,
then how the session ended. swaks cannot send malformed input.

  smtp_client.py HOST PORT [--bind ADDR] [--send TEXT]... [--wait SECONDS]
                 [--hold N] [--connect-only]

--send TEXT   bytes to send after the greeting; Python escapes (\\r\\n, \\x00)
              are interpreted; one write per --send, so several --send
              arguments arrive as separate segments.
--repeat N    send the last --send text N times (pipelined garbage floods).
--wait S      read until the server closes or S seconds pass (default 5).
--hold N      open N connections, print each greeting, keep them open for
              --wait seconds (connection limits).
--connect-only  print "connected" or "refused" and exit.
Output: one line per reply line, then "END closed" or "END timeout".
"""
import argparse
import codecs
import socket
import sys
import time


def connect(host, port, bind):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if bind:
        s.bind((bind, 0))
    s.settimeout(10)
    s.connect((host, port))
    return s


def read_until_close(s, deadline):
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return buf, "timeout"
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return buf, "timeout"
        except ConnectionResetError:
            return buf, "reset"
        if not chunk:
            return buf, "closed"
        buf += chunk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--bind")
    ap.add_argument("--send", action="append", default=[])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--wait", type=float, default=5.0)
    ap.add_argument("--hold", type=int, default=0)
    ap.add_argument("--connect-only", action="store_true")
    a = ap.parse_args()

    if a.connect_only:
        try:
            connect(a.host, a.port, a.bind).close()
            print("connected")
        except ConnectionRefusedError:
            print("refused")
        return 0

    if a.hold:
        socks = []
        for _ in range(a.hold):
            s = connect(a.host, a.port, a.bind)
            s.settimeout(10)  # a bound, not a pause: a loaded CI is slow
            try:
                line = s.recv(4096).decode("latin-1").strip()
            except socket.timeout:
                line = "(no greeting)"
            print(line if line else "(closed)")
            sys.stdout.flush()
            socks.append(s)
        time.sleep(a.wait)
        return 0

    s = connect(a.host, a.port, a.bind)
    deadline = time.monotonic() + a.wait
    texts = a.send[:-1] + a.send[-1:] * a.repeat
    for text in texts:
        data = codecs.escape_decode(text.encode("latin-1"))[0]
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            break
        time.sleep(0.02)
    buf, how = read_until_close(s, deadline)
    for line in buf.decode("latin-1").split("\r\n"):
        if line:
            print(line)
    print("END " + how)
    return 0


if __name__ == "__main__":
    sys.exit(main())
