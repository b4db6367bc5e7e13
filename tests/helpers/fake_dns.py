#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A scripted DNS server for the fault suite: answers every query (UDP and
TCP) the broken way MODE says, for what no real server does on purpose.

    fake_dns.py MODE ADDR PORT

MODE: good (a valid MX set: example.test MX 10 mx1, MX 20 mx2, A records),
servfail, refused, garbage, cut (a valid answer cut short), tc (TC on UDP,
TCP closes at once), tc-garbage (TC on UDP, garbage on TCP), wrongid (the
answer carries another ID), wrongq (the answer is for another name), loop
(a compression pointer that points at itself), silent (never answers),
addr-servfail (the MX answer is fine, A/AAAA get SERVFAIL).
Prints "ready PORT" once listening (PORT 0: any free port).
"""
import random
import socket
import struct
import sys
import threading

MODE, ADDR, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(42)


def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_question(q):
    """(id, qname wire, qtype) of a query, or None."""
    if len(q) < 17:
        return None
    qid = struct.unpack(">H", q[:2])[0]
    i = 12
    while i < len(q) and q[i]:
        i += q[i] + 1
    if i + 5 > len(q):
        return None
    return qid, q[12:i + 1], struct.unpack(">H", q[i + 1:i + 3])[0]


def rr(owner, rtype, rdata, ttl=300):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def answer(query, tcp):
    p = parse_question(query)
    if p is None:
        return None
    qid, qname, qtype = p
    flags, rcode, answers = 0x8400, 0, []  # QR AA
    # Names compare without case (RFC 4343); the question is echoed as sent (0x20).
    qtext = ".".join(
        qname[i + 1:i + 1 + qname[i]].decode("ascii", "replace")
        for i in _labels(qname))
    if MODE in ("servfail",) or (MODE == "addr-servfail" and qtype != 15):
        rcode = 2
    elif MODE == "refused":
        rcode = 5
    elif qtype == 15:  # MX
        answers = [rr(b"\xc0\x0c", 15, struct.pack(">H", 10) + name("mx1.example.test")),
                   rr(b"\xc0\x0c", 15, struct.pack(">H", 20) + name("mx2.example.test"))]
    elif qtype == 1:  # A
        ip = {"mx1.example.test": "192.0.2.11", "mx2.example.test": "192.0.2.20"}.get(qtext.lower())
        if ip:
            answers = [rr(b"\xc0\x0c", 1, socket.inet_aton(ip))]
    if MODE == "loop" and qtype == 15:
        # The MX target is a pointer to itself (offset of the pointer).
        head_len = 12 + len(qname) + 4
        rdata_off = head_len + 12 + 2
        ptr = struct.pack(">H", 0xC000 | rdata_off)
        answers = [rr(b"\xc0\x0c", 15, struct.pack(">H", 10) + ptr)]
    if MODE in ("tc", "tc-garbage") and not tcp:
        flags |= 0x0200
        answers = []
    if MODE == "wrongid":
        qid ^= 0x5A5A
    if MODE == "wrongq":
        qname = name("other.test")
    msg = struct.pack(">HHHHHH", qid, flags | rcode, 1, len(answers), 0, 0)
    msg += qname + struct.pack(">HH", qtype, 1) + b"".join(answers)
    if MODE == "cut":
        msg = msg[:max(12, len(msg) // 2 + rng.randrange(0, 7))]
    if MODE == "garbage" or (MODE == "tc-garbage" and tcp):
        msg = query[:2] + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 600)))
    return msg


def _labels(q):
    i = 0
    while i < len(q) and q[i]:
        yield i
        i += q[i] + 1


def serve_udp(sock):
    while True:
        data, peer = sock.recvfrom(4096)
        if MODE == "silent":
            continue
        a = answer(data, False)
        if a is not None:
            sock.sendto(a, peer)


def serve_tcp_conn(c):
    try:
        c.settimeout(5)
        if MODE == "tc":
            return
        hdr = c.recv(2)
        if len(hdr) < 2:
            return
        ln = struct.unpack(">H", hdr)[0]
        q = b""
        while len(q) < ln:
            chunk = c.recv(ln - len(q))
            if not chunk:
                return
            q += chunk
        if MODE == "silent":
            c.recv(1)
            return
        a = answer(q, True)
        if a is None:
            return
        if MODE == "tc-garbage":
            c.sendall(b"\xff\xff" + a)
        else:
            c.sendall(struct.pack(">H", len(a)) + a)
    except OSError:
        pass
    finally:
        c.close()


def serve_tcp(sock):
    while True:
        c, _ = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(c,), daemon=True).start()


fam = socket.AF_INET6 if ":" in ADDR else socket.AF_INET
for attempt in range(50):  # PORT 0: a port free for both UDP and TCP
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((ADDR, PORT))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        t.bind((ADDR, u.getsockname()[1]))
        break
    except OSError:
        if PORT:
            raise
        u.close()
        t.close()
t.listen(16)
threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
print("ready %d" % u.getsockname()[1], flush=True)
serve_udp(u)
