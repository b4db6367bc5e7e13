#!/usr/bin/python3
# Timed SMTP sessions for bench/handoff: COUNT sessions, one after the
# other, to HOST:PORT, each EHLO, MAIL, RCPT RCPT, DATA with a message of
# SIZE bytes of body, QUIT. One line per session:
#   ok=1 ms=SESSION_MS data_ms=DATA_MS
# (data_ms: from the DATA command to the reply after the final dot); ok=0
# and why= when the session did not end with 250 after the dot.
#   smtp_time.py HOST PORT RCPT COUNT SIZE
import smtplib
import sys
import time

host, port, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count, size = min(int(sys.argv[4]), 1000), min(int(sys.argv[5]), 64 << 20)
line = b"x" * 76 + b"\r\n"
body = line * (size // len(line))
msg = b"From: a@sender.test\r\nTo: " + rcpt.encode() + b"\r\nSubject: bench\r\n\r\n" + body
for i in range(count):
    t0 = time.monotonic()
    try:
        s = smtplib.SMTP(host, port, timeout=60)
        s.ehlo("sender.test")
        s.mail("a@sender.test")
        code, _ = s.rcpt(rcpt)
        if code != 250:
            raise Exception("rcpt_%d" % code)
        td = time.monotonic()
        code, _ = s.data(msg)
        data_ms = (time.monotonic() - td) * 1000
        if code != 250:
            raise Exception("data_%d" % code)
        s.quit()
        print("ok=1 ms=%.2f data_ms=%.2f" % ((time.monotonic() - t0) * 1000, data_ms), flush=True)
    except Exception as e:
        print("ok=0 why=%s" % str(e).replace(" ", "_")[:60], flush=True)
