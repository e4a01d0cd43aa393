"""The Kubernetes manifests: valid YAML, mutual TLS everywhere, NetworkPolicies, self-exclusion.

kubectl/kustomize are not installed here, so the manifests are read as plain YAML.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import yaml

from rampart.lib.natsconf import render_for_kubernetes

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SERVICES = {"auth": 50051, "scan": 50052, "threat": 50053, "ai": 50054, "report": 50055}


def documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.rglob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def base(kind: str) -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((K8S / "base").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == kind:
                found[doc["metadata"]["name"]] = doc
    return found


def generated(name: str) -> dict[str, str]:
    data = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    [generator] = [g for g in data["configMapGenerator"] if g["name"] == name]
    return dict(literal.split("=", 1) for literal in generator["literals"])


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


def env(deployment: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container(deployment).get("env", [])}


def test_every_manifest_is_valid_yaml_with_a_kind() -> None:
    docs = documents()
    assert len(docs) > 20
    assert all("kind" in doc for doc in docs)


def test_the_scan_worker_never_scans_the_platform() -> None:
    worker = base("Deployment")["scan-worker"]
    sources = [s.get("configMapRef", {}).get("name") for s in container(worker)["envFrom"]]
    assert "rampart-platform" in sources
    platform = generated("rampart-platform")
    networks = [ipaddress.ip_network(n) for n in platform["PLATFORM_ADDRESSES"].split(",")]
    for inside in ("10.244.1.7", "10.96.0.10", "172.20.0.5", "192.168.1.1", "100.64.0.1", "169.254.169.254"):
        assert any(ipaddress.ip_address(inside) in n for n in networks), inside
    assert "rampart-platform" in [
        s.get("configMapRef", {}).get("name") for s in container(base("Deployment")["scan"])["envFrom"]
    ]
    prod = yaml.safe_load((K8S / "overlays" / "prod" / "kustomization.yaml").read_text())
    assert any(g["name"] == "rampart-platform" for g in prod["configMapGenerator"])


def test_a_cluster_allows_no_scan_until_the_operator_writes_a_scope() -> None:
    scope = json.loads(generated("rampart-scope")["scope.json"])
    assert scope["default"]["allow"] == []
    assert scope["orgs"] == {}


def test_every_process_mounts_its_own_certificate_and_probes_the_plaintext_health_port() -> None:
    for name, deployment in base("Deployment").items():
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == f"rampart-tls-{name}"
        assert env(deployment)["TLS_DIR"] == "/var/run/rampart/tls"
        assert "TLS_INSECURE" not in env(deployment)
        if name in SERVICES:
            assert env(deployment)["HEALTH_PORT"] == "8081"
            assert container(deployment)["readinessProbe"]["grpc"]["port"] == 8081


def test_the_broker_config_is_the_generated_one() -> None:
    assert base("ConfigMap")["nats-config"]["data"]["nats.conf"] == render_for_kubernetes()
    nats = base("StatefulSet")["nats"]
    volumes = {v["name"]: v for v in nats["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "rampart-tls-nats"


def selected(policy: dict[str, Any], app: str) -> bool:
    selector = policy["spec"]["podSelector"]
    if not selector:
        return True
    if "matchLabels" in selector:
        return bool(selector["matchLabels"].get("app") == app)
    return any(app in expr["values"] for expr in selector["matchExpressions"])


def test_network_policies_deny_by_default_and_admit_only_the_gateway_to_the_services() -> None:
    policies = base("NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    apps = [*base("Deployment"), "nats"]
    for app in apps:
        own = [p for name, p in policies.items() if name not in ("default-deny", "dns") and selected(p, app)]
        assert own, f"no NetworkPolicy for {app}"
    for rule in policies["services"]["spec"]["ingress"]:
        ports = {p["port"] for p in rule["ports"]}
        if ports & set(SERVICES.values()):
            assert rule["from"] == [{"podSelector": {"matchLabels": {"app": "gateway"}}}]


def test_the_workers_reach_targets_but_not_the_platform_networks() -> None:
    worker = base("NetworkPolicy")["scan-worker"]["spec"]
    [targets] = [rule for rule in worker["egress"] if "ipBlock" in str(rule)]
    [v4, _v6] = [peer["ipBlock"] for peer in targets["to"]]
    assert v4["cidr"] == "0.0.0.0/0"
    platform = generated("rampart-platform")["PLATFORM_ADDRESSES"].split(",")
    assert set(v4["except"]) == {n for n in platform if ":" not in n}


def test_keda_scales_the_scan_worker_on_the_scan_jobs_backlog() -> None:
    from rampart.lib.catalogue import subjects

    overlay = K8S / "overlays" / "autoscale"
    listed = yaml.safe_load((overlay / "kustomization.yaml").read_text())["resources"]
    assert "../prod" in listed
    docs = [
        doc
        for name in listed
        if name.endswith(".yaml")
        for doc in yaml.safe_load_all((overlay / name).read_text())
    ]
    [scaled] = [doc for doc in docs if doc["kind"] == "ScaledObject"]
    target = scaled["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "scan-worker")
    assert target["name"] in base("Deployment")
    [trigger] = scaled["spec"]["triggers"]
    meta = trigger["metadata"]
    assert trigger["type"] == "nats-jetstream"
    assert (meta["stream"], meta["consumer"]) == (subjects.SCAN_JOBS_STREAM, subjects.SCAN_WORKERS_DURABLE)
    assert int(meta["lagThreshold"]) >= 1
    assert scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    [monitor] = [doc for doc in docs if doc["kind"] == "Service"]
    host, port = meta["natsServerMonitoringEndpoint"].split(":")
    assert host.split(".")[0] == monitor["metadata"]["name"]
    nats = base("StatefulSet").get("nats") or base("Deployment")["nats"]
    assert monitor["spec"]["selector"] == nats["spec"]["selector"]["matchLabels"]
    assert {"name": "monitor", "containerPort": int(port)} in container(nats)["ports"]
