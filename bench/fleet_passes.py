#!/usr/bin/python3
# The pass propagation half of bench/fleet-edges, run in the sender's
# namespace: each client earns a greylist pass at one edge (a first
# RCPT, then its retry after greylist_delay), and two pollers time when
# its address appears in the kernel pass map of that edge (the local
# baseline) and of another edge (through Redis), from the moment the
# retry's RCPT reply arrived. Prints "client local_ms remote_ms" per line
# ("nan" when not seen); progress on stderr.
#   fleet_passes.py SERVER4 SERVER6 PIN_LOCAL PIN_REMOTE DELAY_S SPACING_S CLIENTS_FILE
import json
import socket
import subprocess
import sys
import threading
import time

server4, server6, pin_local, pin_remote = sys.argv[1:5]
delay, spacing = float(sys.argv[5]), float(sys.argv[6])
clients = [l.strip() for l in open(sys.argv[7]) if l.strip()]


def rcpt(src, to):
    v6 = ':' in src
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
    s.settimeout(10)
    s.bind((src, 0))
    s.connect((server6 if v6 else server4, 25))
    f = s.makefile('rb')

    def reply():
        while True:
            line = f.readline()
            if not line:
                raise EOFError('closed')
            if line[3:4] != b'-':
                return line.decode(errors='replace').strip()

    reply()
    for cmd in (b'EHLO bench.test', b'MAIL FROM:<a@sender.test>'):
        s.sendall(cmd + b'\r\n')
        reply()
    s.sendall(b'RCPT TO:<' + to.encode() + b'>\r\n')
    r = reply()
    t = time.monotonic()
    s.sendall(b'QUIT\r\n')
    s.close()
    return r, t


def key_addr(key):
    b = bytes(int(x, 16) for x in key)
    if b[:12] == bytes(10) + b'\xff\xff':
        return socket.inet_ntop(socket.AF_INET, b[12:])
    return socket.inet_ntop(socket.AF_INET6, b)


seen = {pin_local: {}, pin_remote: {}}
stop = False


def poll():
    while not stop:
        for pin in (pin_local, pin_remote):
            out = subprocess.run(['bpftool', '-j', 'map', 'dump', 'pinned', pin + '/passes'],
                                 capture_output=True, text=True).stdout
            t = time.monotonic()
            try:
                for e in json.loads(out or '[]'):
                    a = key_addr(e['key'])
                    seen[pin].setdefault(a, t)
            except (ValueError, KeyError, TypeError):
                pass


t_first = {}
for i, c in enumerate(clients):
    r, _ = rcpt(c, 'u%d@example.test' % i)
    if not r.startswith('451'):
        print('first try of %s: %s' % (c, r), file=sys.stderr)
time.sleep(delay + 0.5)
th = threading.Thread(target=poll, daemon=True)
th.start()
t_retry = {}
for i, c in enumerate(clients):
    r, t = rcpt(c, 'u%d@example.test' % i)
    t_retry[c] = t
    if not r.startswith('4') and not r.startswith('2'):
        print('retry of %s: %s' % (c, r), file=sys.stderr)
    time.sleep(spacing)
deadline = time.monotonic() + 15
while time.monotonic() < deadline and any(c not in seen[pin_remote] for c in clients):
    time.sleep(0.1)
stop = True
th.join()


def ms(pin, c):
    t = seen[pin].get(c)
    # Seen before the retry: a poll raced the reply; it counts as 0.
    return 'nan' if t is None else '%.0f' % max(0.0, (t - t_retry[c]) * 1000)


for c in clients:
    print(c, ms(pin_local, c), ms(pin_remote, c))
