#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Checks monitoring/: the Prometheus rules and their unit tests, the example
# Prometheus configuration, the Grafana dashboard (JSON, layout, PromQL), and
# that the mkb_ and process_ metrics they use are the ones documented in
# docs/OPERATIONS.md ("Metrics and alerts"), the list of record.
# Needs promtool and python3. Exit status 0 only if every check passed.
set -u

cd "$(dirname "$0")/../.." || exit 2
PROMTOOL=${PROMTOOL:-promtool}
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() {   # step NAME COMMAND...: runs COMMAND, prints its output and the verdict
    local name=$1; shift
    echo "== $name"
    if "$@" >"$tmp/out" 2>&1; then
        sed 's/^/   /' "$tmp/out"
        echo "   ok"
    else
        sed 's/^/   /' "$tmp/out"
        echo "   FAILED: $name"
        failures=$((failures + 1))
    fi
}

for tool in "$PROMTOOL" python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "check.sh: $tool not found" >&2
        exit 2
    fi
done

step "promtool check rules monitoring/alerts.yml" \
    "$PROMTOOL" check rules monitoring/alerts.yml
step "promtool test rules monitoring/alerts.test.yml" \
    "$PROMTOOL" test rules monitoring/alerts.test.yml
step "promtool check config monitoring/prometheus.yml" \
    "$PROMTOOL" check config monitoring/prometheus.yml
step "python3 -m json.tool monitoring/grafana-dashboard.json" \
    sh -c 'python3 -m json.tool monitoring/grafana-dashboard.json >/dev/null'

# Dashboard: schema, variables, layout; writes its queries (Grafana
# variables replaced) as recording rules for promtool to parse.
dashboard_structure() {
    python3 - monitoring/grafana-dashboard.json "$tmp/dashboard-rules.yml" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
errs = []
if d.get("schemaVersion", 0) < 36:
    errs.append("schemaVersion %s < 36" % d.get("schemaVersion"))
if not any(i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus"
           for i in d.get("__inputs", [])):
    errs.append("no __inputs entry DS_PROMETHEUS for prometheus")
var = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
if var.get("DS_PROMETHEUS", {}).get("type") != "datasource":
    errs.append("no datasource variable DS_PROMETHEUS")
for name in ("job", "instance"):
    if var.get(name, {}).get("type") != "query":
        errs.append("no query variable %s" % name)
panels = d.get("panels", [])
ids, cells, exprs = set(), {}, []
for p in panels:
    t = "panel %s (%s)" % (p.get("id"), p.get("title"))
    if p.get("id") in ids:
        errs.append(t + ": duplicate id")
    ids.add(p.get("id"))
    g = p.get("gridPos") or {}
    if not all(isinstance(g.get(k), int) for k in "hwxy"):
        errs.append(t + ": gridPos needs integer h, w, x, y")
        continue
    if g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24 or g["h"] < 1:
        errs.append(t + ": gridPos %s outside the 24-column grid" % g)
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            if (x, y) in cells:
                errs.append("%s overlaps %s at x=%d y=%d" % (t, cells[(x, y)], x, y))
                break
            cells[(x, y)] = t
        else:
            continue
        break
    if p.get("type") == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
        errs.append(t + ": datasource is not ${DS_PROMETHEUS}")
    if not p.get("targets"):
        errs.append(t + ": no targets")
    for tg in p.get("targets", []):
        if 'job=~"$job"' not in tg.get("expr", "") or 'instance=~"$instance"' not in tg.get("expr", ""):
            errs.append(t + ": query without the job/instance selector: " + tg.get("expr", ""))
        exprs.append((t, tg.get("expr", "")))
for a in d.get("annotations", {}).get("list", []):
    if a.get("expr"):
        exprs.append(("annotation " + a.get("name", ""), a["expr"]))
subst = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h",
         "$job": ".*", "$instance": ".*"}
with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (t, e) in enumerate(exprs):
        for k, v in subst.items():
            e = e.replace(k, v)
        if "$" in e:
            errs.append("%s: unknown variable in %s" % (t, e))
        f.write("      - record: dashboard:q%d\n        expr: %s\n" % (i, json.dumps(e)))
for e in errs:
    print(e)
print("%d panels, %d queries, schemaVersion %s, variables %s"
      % (len(panels), len(exprs), d.get("schemaVersion"), ", ".join(var)))
sys.exit(1 if errs else 0)
PY
}
step "dashboard: schema, DS_PROMETHEUS, job/instance variables, gridPos" dashboard_structure
step "dashboard: every query parses (promtool check rules)" \
    "$PROMTOOL" check rules "$tmp/dashboard-rules.yml"

# Metric names: the table in docs/OPERATIONS.md is the list of record.
metric_names() {
    python3 - docs/OPERATIONS.md monitoring/alerts.yml monitoring/grafana-dashboard.json <<'PY'
import re, sys
doc, rules, dash = (open(p).read() for p in sys.argv[1:4])
sec = doc.split("\n## Metrics and alerts\n", 1)
if len(sec) != 2:
    print("docs/OPERATIONS.md: no section '## Metrics and alerts'")
    sys.exit(1)
sec = sec[1].split("\n## ", 1)[0]
table = dict(re.findall(r"^\| `((?:mkb|process)_[a-z0-9_]+)` \| (counter|gauge|histogram) \|",
                        sec, re.M))
if not table:
    print("docs/OPERATIONS.md: no metric table rows ('| `mkb_...` | type |')")
    sys.exit(1)
known = set(table)
for name, kind in table.items():
    if kind == "histogram":
        known |= {name + s for s in ("_bucket", "_sum", "_count")}
errs = []
used = {}
for label, text in (("monitoring/alerts.yml", rules), ("monitoring/grafana-dashboard.json", dash)):
    used[label] = set(re.findall(r"\b(?:mkb|process)_[a-z0-9_]*[a-z0-9]", text))
    for m in sorted(used[label] - known):
        errs.append("%s uses %s, not in the metric table of docs/OPERATIONS.md" % (label, m))
for name, kind in sorted(table.items()):
    forms = {name} if kind != "histogram" else {name + "_bucket", name + "_sum", name + "_count"}
    # Every mkb_ metric; of the process_ ones, CPU and memory (the limits
    # and the start time are for expressions and alerts).
    shown = name.startswith("mkb_") or name in ("process_cpu_seconds_total",
                                                 "process_resident_memory_bytes")
    if shown and not forms & used["monitoring/grafana-dashboard.json"]:
        errs.append("monitoring/grafana-dashboard.json does not show %s" % name)
    if kind == "counter" and not name.endswith("_total"):
        errs.append("%s: a counter's name ends in _total" % name)
alerts = re.findall(r"^\s*- alert: (\S+)", rules, re.M)
for a in alerts:
    if "`%s`" % a not in sec:
        errs.append("alert %s is not described in docs/OPERATIONS.md" % a)
for e in errs:
    print(e)
print("%d metrics in the table; alerts use %d, the dashboard %d; %d alerts documented"
      % (len(table), len(used["monitoring/alerts.yml"]),
         len(used["monitoring/grafana-dashboard.json"]), len(alerts)))
sys.exit(1 if errs else 0)
PY
}
step "metric names in alerts and dashboard = docs/OPERATIONS.md table" metric_names

if [ "$failures" -ne 0 ]; then
    echo "check.sh: $failures check(s) FAILED"
    exit 1
fi
echo "check.sh: all checks passed"
