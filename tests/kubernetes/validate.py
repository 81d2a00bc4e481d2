#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""Checks deploy/kubernetes/ offline (tests/kubernetes/check.sh runs it in the
venv .cache/k8s; no cluster, nothing downloaded):

  - that configmap.yaml is current (scripts/k8s-manifests.py --check);
  - every core object against the Kubernetes OpenAPI schemas that the PyPI
    package kubernetes-validate ships, strict (unknown fields are errors), for
    the oldest and newest Kubernetes version named below;
  - the ServiceMonitor against the openAPIV3Schema of the Prometheus
    Operator's CRD (tests/kubernetes/crd/, vendored from its Go module) with
    jsonschema, unknown fields refused as the API server's strict field
    validation does;
  - that both validators refuse a broken copy (so a pass means something);
  - what ties the objects together: one replica, Recreate, probes on the
    metrics port's /healthz and /readyz, the security context, the grace
    period above kafka.flush_timeout_ms (its default from the binary's
    --help-config), the Secret keys the env names, the ConfigMaps and the PVC
    the volumes name, the Service and ServiceMonitor selecting the pod, the
    image tag (VERSION), the user and port (the Dockerfile's USER, EXPOSE);
  - bridge.yaml and the mappings of the ConfigMaps laid out where the
    Deployment mounts them (under a scratch root, as the kubelet lays out a
    ConfigMap volume), then `mqtt-kafka-bridge -c .../bridge.yaml check` run
    with the Deployment's environment, the Secret's values in it; and a
    librdkafka client (kcat) made of its kafka.properties.

  validate.py BINARY      prints ok/FAIL lines and "N passed, N failed"
"""
import copy
import glob
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import kubernetes_validate
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIR = os.path.join(ROOT, "deploy", "kubernetes")
CRD = os.path.join(ROOT, "tests", "kubernetes", "crd", "monitoring.coreos.com_servicemonitors.yaml")
# An older release that managed clusters still ran when this was written,
# and the newest kubernetes-validate ships.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]

passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}" + (f": {detail}" if detail else ""))


def load_objects():
    objs = {}
    for path in sorted(glob.glob(os.path.join(DIR, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    objs[(doc["kind"], doc["metadata"]["name"])] = (os.path.basename(path), doc)
    return objs


def k8s_errors(doc, version):
    try:
        kubernetes_validate.validate(doc, version, strict=True)
        return None
    except kubernetes_validate.ValidationError as e:
        return str(e).splitlines()[0]
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as e:
        return f"no schema: {e}"


def strict_schema(node):
    """additionalProperties: false wherever the CRD lists the properties and
    keeps no unknown fields (x-kubernetes-preserve-unknown-fields)."""
    if isinstance(node, dict):
        if ("properties" in node and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")):
            node["additionalProperties"] = False
        for v in node.values():
            strict_schema(v)
    elif isinstance(node, list):
        for v in node:
            strict_schema(v)
    return node


def servicemonitor_validator():
    with open(CRD, encoding="utf-8") as f:
        crd = yaml.safe_load(f)
    assert crd["spec"]["names"]["kind"] == "ServiceMonitor"
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1" and v["served"])
    schema = strict_schema(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    # metadata is the API server's, not the CRD's: only its type is given.
    schema["properties"]["metadata"] = {"type": "object"}
    return crd["spec"]["group"] + "/v1", jsonschema.Draft4Validator(schema)


def sm_errors(validator, doc):
    errs = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    return "; ".join(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errs[:3])


def schemas(objs):
    group_version, smv = servicemonitor_validator()
    for (kind, name), (fname, doc) in objs.items():
        if kind == "ServiceMonitor":
            check(f"{fname}: {kind}/{name} apiVersion is the CRD's served {group_version}",
                  doc["apiVersion"] == group_version, doc["apiVersion"])
            err = sm_errors(smv, doc)
            check(f"{fname}: {kind}/{name} valid against the vendored CRD schema", not err, err)
            continue
        for v in VERSIONS:
            err = k8s_errors(doc, v)
            check(f"{fname}: {kind}/{name} valid against Kubernetes {v} (strict)", err is None, err)
    # Each validator must refuse a broken copy, or its passes mean nothing.
    dep = copy.deepcopy(objs[("Deployment", "mqtt-kafka-bridge")][1])
    dep["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/x"
    check("kubernetes-validate refuses an unknown field in a probe",
          k8s_errors(dep, VERSIONS[-1]) is not None)
    dep = copy.deepcopy(objs[("Deployment", "mqtt-kafka-bridge")][1])
    dep["spec"]["replicas"] = "one"
    check("kubernetes-validate refuses replicas: \"one\"", k8s_errors(dep, VERSIONS[-1]) is not None)
    sm = copy.deepcopy(objs[("ServiceMonitor", "mqtt-kafka-bridge")][1])
    sm["spec"]["endpoints"][0]["intervall"] = "30s"
    check("the CRD schema refuses an unknown endpoint field", bool(sm_errors(smv, sm)))
    sm = copy.deepcopy(objs[("ServiceMonitor", "mqtt-kafka-bridge")][1])
    sm["spec"]["endpoints"][0]["interval"] = "30 seconds"
    check("the CRD schema refuses interval: \"30 seconds\"", bool(sm_errors(smv, sm)))


def flush_timeout_ms(binary, bridge_yaml):
    """kafka.flush_timeout_ms of bridge.yaml, else the binary's default."""
    set_ = (yaml.safe_load(bridge_yaml).get("kafka") or {}).get("flush_timeout_ms")
    if set_ is not None:
        return int(set_)
    out = subprocess.run([binary, "--help-config"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^kafka\.flush_timeout_ms\s.*\[default: (\d+)\]", out, re.M).group(1))


def pod_checks(objs, binary):
    dep = objs[("Deployment", "mqtt-kafka-bridge")][1]
    spec, pod = dep["spec"], dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as f:
        version = f.read().strip()
    check(f"the image is mqtt-kafka-bridge:{version} (VERSION)", c["image"].endswith(f"mqtt-kafka-bridge:{version}"),
          c["image"])
    with open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8") as f:
        dockerfile = f.read()
    user = re.search(r"^USER (\d+)", dockerfile, re.M)
    expose = re.search(r"^EXPOSE (\d+)", dockerfile, re.M)
    check("the Dockerfile's USER is runAsUser and its EXPOSE the port metrics",
          user and expose and int(user.group(1)) == pod["securityContext"]["runAsUser"]
          and int(expose.group(1)) == c["ports"][0]["containerPort"],
          f"USER {user and user.group(1)}, EXPOSE {expose and expose.group(1)}")
    check("Deployment: 1 replica, strategy Recreate",
          spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    env = {e["name"]: e for e in c["env"]}
    listen = env["MKB_METRICS_LISTEN"]["value"]
    check("MKB_METRICS_LISTEN's port is the container's port metrics",
          listen.rsplit(":", 1)[1] == str(ports.get("metrics")), listen)
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                        ("readinessProbe", "/readyz")):
        g = c.get(probe, {}).get("httpGet", {})
        check(f"{probe} GET {path} on port metrics", g.get("path") == path and g.get("port") == "metrics", g)
    sc, psc = c["securityContext"], pod["securityContext"]
    check("runAsNonRoot, user 10001 (the image's), readOnlyRootFilesystem, no privilege escalation, "
          "capabilities drop ALL",
          sc["runAsNonRoot"] and psc["runAsUser"] == 10001 and sc["readOnlyRootFilesystem"]
          and sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"])
    res = c["resources"]
    check("resources: requests and limits of cpu and memory",
          all(k in res[w] for w in ("requests", "limits") for k in ("cpu", "memory")))
    cms = {n: d for (k, n), (_, d) in objs.items() if k == "ConfigMap"}
    bridge_yaml = cms["mqtt-kafka-bridge-config"]["data"]["bridge.yaml"]
    ft = flush_timeout_ms(binary, bridge_yaml)
    grace = pod["terminationGracePeriodSeconds"]
    check(f"terminationGracePeriodSeconds {grace} > kafka.flush_timeout_ms {ft} ms + 10 s", grace * 1000 > ft + 10000)
    secret = objs[("Secret", "mqtt-kafka-bridge")][1]
    refs = [e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e]
    check("every secretKeyRef names a key of Secret mqtt-kafka-bridge",
          refs and all(r["name"] == "mqtt-kafka-bridge" and r["key"] in secret["stringData"] for r in refs))
    used = set(re.findall(r"\$\{(\w+)\}", bridge_yaml))  # without a default: must be set
    check("every ${VAR} of bridge.yaml without a default is in the Deployment's env",
          used <= set(env), sorted(used - set(env)))
    vols = {v["name"]: v for v in pod["volumes"]}
    for v in vols.values():
        if "configMap" in v:
            check(f"volume {v['name']}: ConfigMap {v['configMap']['name']} is in the manifests",
                  v["configMap"]["name"] in cms)
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            check(f"volume {v['name']}: PersistentVolumeClaim {claim} is in the manifests",
                  ("PersistentVolumeClaim", claim) in objs)
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    check("the spool directory is on the PersistentVolumeClaim",
          env["MKB_SPOOL_DIR"]["value"].startswith(mounts["spool"] + "/"))
    labels = dep["spec"]["template"]["metadata"]["labels"]
    svc = objs[("Service", "mqtt-kafka-bridge-metrics")][1]
    check("Service selects the pod", svc["spec"]["selector"].items() <= labels.items())
    check("Service port metrics targets the container's port metrics",
          any(p["name"] == "metrics" and p["targetPort"] == "metrics" for p in svc["spec"]["ports"]))
    sm = objs[("ServiceMonitor", "mqtt-kafka-bridge")][1]
    check("ServiceMonitor selects the Service, its port by name",
          sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
          and sm["spec"]["endpoints"][0]["port"] == "metrics")
    # monitoring/alerts.yml and the dashboard want a job containing the
    # name; the operator names the job after the Service.
    check("the scrape job (the Service's name) matches monitoring/alerts.yml's job=~\".*mqtt-kafka-bridge.*\"",
          "mqtt-kafka-bridge" in svc["metadata"]["name"])
    return c, env, secret, cms, vols, mounts


def layout(root, cms, vols, mounts):
    """Writes each ConfigMap's files under ROOT where the pod mounts them, as
    the kubelet lays out a ConfigMap volume: the files in a hidden
    ..<timestamp> directory, ..data a symlink to it, and each key a symlink
    to ..data/key (so the mapping glob must skip the dot entries)."""
    for name, path in mounts.items():
        cm = vols[name].get("configMap")
        if not cm:
            continue
        d = root + path
        os.makedirs(os.path.join(d, "..2026_01_01_00_00_00.000000001"), mode=0o755)
        os.symlink("..2026_01_01_00_00_00.000000001", os.path.join(d, "..data"))
        for key, text in cms[cm["name"]]["data"].items():
            with open(os.path.join(d, "..data", key), "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(os.path.join(d, "..data", key), 0o644)
            os.symlink(os.path.join("..data", key), os.path.join(d, key))


def pod_env(root, env, secret, mounts):
    """The Deployment's environment, the Secret's values in it; a path in a
    mounted volume becomes the same path under ROOT."""
    run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for name, e in env.items():
        if "value" in e:
            v = e["value"]
            if any(v == m or v.startswith(m + "/") for m in mounts.values()):
                v = root + v
            run_env[name] = v
        else:
            run_env[name] = secret["stringData"][e["valueFrom"]["secretKeyRef"]["key"]]
    return run_env


def pod_args(root, c):
    args = list(c["args"])
    args[args.index("-c") + 1] = root + args[args.index("-c") + 1]
    return args


def bridge_check(binary, c, env, secret, cms, vols, mounts):
    with tempfile.TemporaryDirectory() as root:
        layout(root, cms, vols, mounts)
        run_env = pod_env(root, env, secret, mounts)
        args = pod_args(root, c)
        p = subprocess.run([binary, *args, "check"], env=run_env, capture_output=True, text=True)
        out = p.stdout + p.stderr
        check("mqtt-kafka-bridge check: the ConfigMaps' files as mounted, the Deployment's env",
              p.returncode == 0, out.strip())
        print("     " + out.strip().replace("\n", "\n     "))
        check("check names no secret in its output",
              not any(v in out for v in secret["stringData"].values() if len(v) > 6))
        # The same files from the source tree (config/, mappings/): the same
        # routes, subscriptions and command rules, so every mapping file loaded.
        src_env = dict(run_env, MKB_MAPPINGS_DIR=os.path.join(ROOT, "mappings"),
                       MKB_SPOOL_DIR=os.path.join(root, "src-spool"))
        src = subprocess.run([binary, "-c", os.path.join(ROOT, "config", "bridge.yaml"), "check"],
                             env=src_env, capture_output=True, text=True)
        summary = re.compile(r"OK \((.*)\)")
        got, want = summary.search(out), summary.search(src.stdout + src.stderr)
        check("check finds the routes of the source tree's config/ and mappings/",
              got and want and got.group(1) == want.group(1),
              f"{got and got.group(1)} vs {want and want.group(1)}")
        kcat_check(bridge_yaml_of(cms), run_env)
        # Without the Secret's variables, check must fail and name one.
        bare = {k: v for k, v in run_env.items() if k not in ("MKB_MQTT_PASSWORD",)}
        p = subprocess.run([binary, *args, "check"], env=bare, capture_output=True, text=True)
        check("without MKB_MQTT_PASSWORD in the env, check fails and names it",
              p.returncode != 0 and "MKB_MQTT_PASSWORD" in p.stdout + p.stderr,
              (p.stdout + p.stderr).strip())


def bridge_yaml_of(cms):
    return cms["mqtt-kafka-bridge-config"]["data"]["bridge.yaml"]


def expand(value, env):
    """${VAR} and ${VAR:-default} as src/ytree.c expands them."""
    def one(m):
        name, dflt = m.group(1), m.group(3)
        return env.get(name) or (dflt if dflt is not None else "")
    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", one, str(value))


def kcat_check(bridge_yaml, env):
    """`check` does not hand kafka.properties to librdkafka; kcat does (with
    Debian's librdkafka): it creates a client with them, which refuses a bad
    property or SASL mechanism, then asks a closed loopback port for
    metadata for 1 s, which must be the only failure."""
    props = yaml.safe_load(bridge_yaml)["kafka"]["properties"]
    args = ["kcat", "-L", "-m", "1", "-b", "127.0.0.1:1"]
    for k, v in props.items():
        args += ["-X", f"{k}={expand(v, env)}"]
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        check("librdkafka (kcat) accepts kafka.properties", False, "kcat not found (make deps)")
        return
    out = p.stdout + p.stderr
    check(f"librdkafka (kcat) makes a client of kafka.properties with the Deployment's env "
          f"(security.protocol {expand(props['security.protocol'], env)}, "
          f"sasl.mechanism {expand(props['sasl.mechanism'], env)})",
          "Failed to create" not in out and "Failed to acquire metadata" in out, out.strip())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: validate.py BINARY")
    binary = os.path.abspath(sys.argv[1])
    gen = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "k8s-manifests.py"), "--check"],
                         capture_output=True, text=True)
    check("configmap.yaml and the pod's config-sha256 are what scripts/k8s-manifests.py makes "
          "of config/bridge.yaml and mappings/", gen.returncode == 0, "\n" + gen.stdout + gen.stderr)
    objs = load_objects()
    kinds = sorted({k for k, _ in objs})
    want = ["ConfigMap", "Deployment", "PersistentVolumeClaim", "Secret", "Service", "ServiceMonitor"]
    check(f"deploy/kubernetes has {', '.join(want)}", kinds == want, kinds)
    schemas(objs)
    bridge_check(binary, *pod_checks(objs, binary))
    print(f"kubernetes: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
