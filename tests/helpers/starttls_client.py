#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A STARTTLS client for tests of the responder, for what swaks cannot do:
hold a handshake half-done, pipeline plaintext behind STARTTLS (the
command injection of CVE-2011-0411), or send garbage for a ClientHello.

  starttls_client.py HOST PORT MODE [--bind ADDR] [--wait SECONDS]
                     [--after TEXT]

MODE
  hold      EHLO, STARTTLS, print the reply, then stay silent (no
            ClientHello) until the server closes or --wait passes; prints
            "END closed after S" or "END timeout".
  inject    EHLO, then in ONE segment "STARTTLS\\r\\n" followed by --after
            (Python escapes interpreted); the TLS handshake; then
            "RCPT TO:<u@example.test>", EHLO and QUIT inside TLS, printing
            every reply.
  garbage   EHLO, STARTTLS, then a plaintext line instead of a ClientHello;
            prints how the connection ended.
Replies print one per line, "~" in front of those read inside TLS.
"""
import argparse
import codecs
import socket
import ssl
import sys
import time


def lines(f):
    """One SMTP reply (all its lines), from a file-like object."""
    out = []
    while True:
        ln = f.readline()
        if not ln:
            return out
        out.append(ln.decode("latin-1").rstrip("\r\n"))
        if len(ln) < 4 or ln[3:4] != b"-":
            return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("mode", choices=["hold", "inject", "garbage"])
    ap.add_argument("--bind")
    ap.add_argument("--wait", type=float, default=5)
    ap.add_argument("--after", default="")
    a = ap.parse_args()

    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if a.bind:
        s.bind((a.bind, 0))
    s.settimeout(10)
    s.connect((a.host, a.port))
    f = s.makefile("rb")
    print("\n".join(lines(f)))
    s.sendall(b"EHLO client.test\r\n")
    lines(f)
    after = codecs.decode(a.after, "unicode_escape").encode("latin-1")
    s.sendall(b"STARTTLS\r\n" + (after if a.mode == "inject" else b""))
    print("\n".join(lines(f)), flush=True)
    if a.mode == "garbage":
        s.sendall(b"EHLO this-is-not-tls\r\n")
    if a.mode in ("hold", "garbage"):
        start = time.monotonic()
        s.settimeout(a.wait)
        try:
            while s.recv(4096):
                pass
            print("END closed after %.1f" % (time.monotonic() - start))
        except socket.timeout:
            print("END timeout")
        except OSError as e:
            print("END closed after %.1f (%s)" % (time.monotonic() - start, e.strerror))
        return 0
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname=a.host)
    tf = t.makefile("rb")
    # RCPT first: had the pipelined plaintext (EHLO, MAIL) been taken as
    # commands inside TLS, this would get the domain's reply, not 503.
    for cmd in (b"RCPT TO:<u@example.test>\r\n", b"EHLO client.test\r\n", b"QUIT\r\n"):
        t.sendall(cmd)
        print("\n".join("~" + x for x in lines(tf)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
