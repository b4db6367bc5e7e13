#!/usr/bin/python3
# A DNS forwarder that answers late, for tests (no tc netem needed): UDP
# queries to LISTEN_ADDR:53 go to SERVER:53 from one socket; each answer
# goes back to the asker DELAY seconds later, unchanged.
# usage: dns_delay.py LISTEN_ADDR SERVER DELAY
import socket
import sys
import threading
import time

listen, server, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind((listen, 53))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
back.connect((server, 53))
askers = {}  # (id, question) -> asker address; bounded below
lock = threading.Lock()


def question(m):
    """The question (name, type, class) of a message, lower-cased."""
    i = 12
    while i < len(m) and m[i] and m[i] < 64:
        i += m[i] + 1
    return m[12:i + 5].lower()


def forward():
    while True:
        q, peer = front.recvfrom(4096)
        if len(q) < 12:
            continue
        with lock:
            if len(askers) > 10000:
                askers.clear()
            askers[(q[:2], question(q))] = peer
        back.send(q)


def reply(a, peer):
    time.sleep(delay)
    front.sendto(a, peer)


threading.Thread(target=forward, daemon=True).start()
while True:
    a = back.recv(65535)
    if len(a) < 12:
        continue
    with lock:
        peer = askers.pop((a[:2], question(a)), None)
    if peer:
        threading.Thread(target=reply, args=(a, peer), daemon=True).start()
