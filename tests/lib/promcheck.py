#!/usr/bin/python3
"""Strict check of Prometheus text exposition (format 0.0.4) on stdin, as
`mxgate metrics` must produce it for node_exporter's textfile collector:
every sample's family has one HELP and one TYPE line before its samples,
families are not split or repeated, names and labels are well-formed,
counters end in _total, values are numbers, no series is repeated. Then,
if Debian's python3-prometheus-client is installed, its parser must accept
the text too. Prints problems and exits 1; prints "ok N samples" otherwise.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(%s(?:,%s)*)?\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$" % (NAME, LABEL, LABEL))

text = sys.stdin.read()
errs = []
help_, type_, done, series = {}, {}, set(), set()
current = None
n = 0
if not text.endswith("\n"):
    errs.append("the text does not end with a newline")
for i, line in enumerate(text.splitlines(), 1):
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        parts = line.split(" ", 3)
        if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
            errs.append("line %d: malformed %s" % (i, parts[1]))
            continue
        name = parts[2]
        d = help_ if parts[1] == "HELP" else type_
        if name in d or name in done:
            errs.append("line %d: %s %s repeated" % (i, parts[1], name))
        d[name] = parts[3]
        if parts[1] == "TYPE" and parts[3] not in ("counter", "gauge", "untyped"):
            errs.append("line %d: type %s" % (i, parts[3]))
        if parts[1] == "TYPE" and parts[3] == "counter" and not name.endswith("_total"):
            errs.append("line %d: counter %s does not end in _total" % (i, name))
        if current and current != name:
            done.add(current)
        current = name
        continue
    if line.startswith("#") or not line:
        errs.append("line %d: unexpected line %r" % (i, line))
        continue
    m = SAMPLE.match(line)
    if not m:
        errs.append("line %d: malformed sample %r" % (i, line))
        continue
    name = m.group(1)
    if name not in help_ or name not in type_:
        errs.append("line %d: %s has no HELP/TYPE before it" % (i, name))
    if name != current:
        errs.append("line %d: %s outside its family block" % (i, name))
    key = (name, m.group(3) or "")
    if key in series:
        errs.append("line %d: series repeated: %s" % (i, line))
    series.add(key)
    n += 1
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    pass
else:
    try:
        for _ in text_string_to_metric_families(text):
            pass
    except Exception as e:  # the parser's own verdict
        errs.append("prometheus_client parser: %s" % e)
if errs:
    print("\n".join(errs))
    sys.exit(1)
print("ok %d samples" % n)
