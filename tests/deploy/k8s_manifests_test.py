#!/usr/bin/env python3
"""Structural test of the Kubernetes manifests (deploy/k8s) and the container images.

Renders every overlay with `kubectl kustomize` (skipped, saying so, where kubectl is
absent) and checks the rendered objects against each other, against the server
binary (flags in the ConfigMap must be flags it accepts: `explainer-server
--helpfull`) and against deploy/container/Containerfile* (ports, user):
- probes (startup, readiness, liveness) are native gRPC probes on the container's
  gRPC port, and --address in the flags listens on that port;
- terminationGracePeriodSeconds exceeds preStop + the server's 5 s shutdown grace +
  --shutdown_hard_deadline_s;
- every Service, NetworkPolicy and ServiceMonitor port names a container port that
  exists, the Services select the pods, the PDB and HPA point at the Deployment;
- non-root, read-only root filesystem, resources requested and limited;
- overlay specifics: cpu runs the :cpu image on --device=cpu; gpu the :cuda image
  with nvidia.com/gpu: 1, a node selector, a toleration and --device=cuda.

The server binary comes from $EXPLAINER_SERVER (set by ctest and Bazel).
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml


def repo_root():
    """The source tree: this file's real location, also under Bazel's runfiles."""
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.dirname(os.path.dirname(here))


ROOT = repo_root()
K8S = os.path.join(ROOT, "deploy", "k8s")
OVERLAYS = ("cpu", "gpu")
SHUTDOWN_GRACE_S = 5  # ServerOptions::shutdown_grace (not a flag)
DEFAULT_HARD_DEADLINE_S = 30  # --shutdown_hard_deadline_s default


def render(overlay):
    """The overlay's objects, rendered from a copy of deploy/k8s (Bazel's runfiles
    are symlinks, which kustomize's root check refuses)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "k8s")
        shutil.copytree(K8S, copy)
        out = subprocess.run(
            ["kubectl", "kustomize", os.path.join(copy, "overlays", overlay)],
            capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise AssertionError(f"kubectl kustomize overlays/{overlay} failed:\n{out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def server_flags():
    """Flag names explainer-server accepts, from --helpfull."""
    binary = os.environ.get("EXPLAINER_SERVER", "")
    if not binary or not os.path.exists(binary):
        raise AssertionError(
            f"$EXPLAINER_SERVER must name the explainer-server binary (got {binary!r})")
    out = subprocess.run([binary, "--helpfull"], capture_output=True, text=True,
                         timeout=60)
    names = set(re.findall(r"^\s+--([A-Za-z0-9_]+)", out.stdout + out.stderr, re.M))
    if "address" not in names:
        raise AssertionError(f"unexpected --helpfull output:\n{out.stdout[:2000]}")
    return names


def parse_flags(text):
    """--name=value lines of a flagfile -> {name: value}."""
    flags = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"--([A-Za-z0-9_]+)(?:=(.*))?", line)
        if not m:
            raise AssertionError(f"not a --flag=value line: {line!r}")
        flags[m.group(1)] = m.group(2) if m.group(2) is not None else "true"
    return flags


def containerfile(name):
    with open(os.path.join(ROOT, "deploy", "container", name)) as f:
        return f.read()


class Rendered:
    def __init__(self, docs):
        self.docs = docs

    def of_kind(self, kind):
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind, name=None):
        found = [d for d in self.of_kind(kind)
                 if name is None or d["metadata"]["name"] == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
        return found[0]


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


@unittest.skipUnless(shutil.which("kubectl"),
                     "kubectl is not installed: the Kubernetes manifests were NOT checked "
                     "(install kubectl, which bundles kustomize, to run this test)")
class OverlayTest(unittest.TestCase):
    accepted_flags = None

    @classmethod
    def setUpClass(cls):
        cls.accepted_flags = server_flags()
        cls.rendered = {o: Rendered(render(o)) for o in OVERLAYS}

    def each(self):
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                yield overlay, self.rendered[overlay]

    def parts(self, r):
        deployment = r.one("Deployment", "explainer")
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        (configmap,) = [c for c in r.of_kind("ConfigMap")
                        if c["metadata"]["name"].startswith("explainer-flags")]
        flags = parse_flags(configmap["data"]["server.flags"])
        return deployment, pod, container, ports, configmap, flags

    def test_every_object_is_labelled_and_known(self):
        for _, r in self.each():
            kinds = sorted(d["kind"] for d in r.docs)
            self.assertEqual(kinds, sorted([
                "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
                "PodDisruptionBudget", "Service", "Service"]))
            for d in r.docs:
                self.assertEqual(d["metadata"]["labels"]["app.kubernetes.io/name"],
                                 "explainer", d["kind"])

    def test_probes_are_grpc_on_the_grpc_port(self):
        for _, r in self.each():
            _, _, container, ports, _, flags = self.parts(r)
            self.assertIn("grpc", ports)
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                self.assertIn(probe, container)
                self.assertEqual(container[probe]["grpc"]["port"], ports["grpc"], probe)
            self.assertEqual(int(flags["address"].rsplit(":", 1)[1]), ports["grpc"])
            self.assertTrue(flags["address"].startswith("0.0.0.0:"), flags["address"])
            self.assertEqual(int(flags["metrics_address"].rsplit(":", 1)[1]),
                             ports["metrics"])
            # The startup probe covers model load + warm-up: at least 2 minutes.
            startup = container["startupProbe"]
            self.assertGreaterEqual(startup["periodSeconds"] * startup["failureThreshold"],
                                    120)

    def test_grace_period_exceeds_prestop_and_drain(self):
        for _, r in self.each():
            _, pod, container, _, _, flags = self.parts(r)
            command = container["lifecycle"]["preStop"]["exec"]["command"]
            self.assertEqual(command[0], "sleep")
            pre_stop = int(command[1])
            hard = int(flags.get("shutdown_hard_deadline_s", DEFAULT_HARD_DEADLINE_S))
            self.assertGreater(pod["terminationGracePeriodSeconds"],
                               pre_stop + SHUTDOWN_GRACE_S + hard)

    def test_configmap_flags_are_flags_the_server_accepts(self):
        for _, r in self.each():
            deployment, pod, container, _, configmap, flags = self.parts(r)
            unknown = set(flags) - self.accepted_flags
            self.assertFalse(unknown, f"flags explainer-server does not accept: {unknown}")
            self.assertIn("--flagfile=/etc/explainer/server.flags", container["args"])
            mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in pod["volumes"]}
            self.assertEqual(mounts["flags"], "/etc/explainer")
            self.assertEqual(volumes["flags"]["configMap"]["name"],
                             configmap["metadata"]["name"])

    def test_services_policy_and_budget_agree_with_the_pods(self):
        for _, r in self.each():
            deployment, _, _, ports, _, _ = self.parts(r)
            pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
            self.assertTrue(matches(deployment["spec"]["selector"]["matchLabels"],
                                    pod_labels))
            services = {s["metadata"]["name"]: s for s in r.of_kind("Service")}
            self.assertEqual(set(services), {"explainer", "explainer-headless"})
            self.assertEqual(services["explainer-headless"]["spec"]["clusterIP"], "None")
            self.assertEqual(services["explainer"]["spec"].get("type", "ClusterIP"),
                             "ClusterIP")
            for service in services.values():
                self.assertTrue(matches(service["spec"]["selector"], pod_labels))
                for port in service["spec"]["ports"]:
                    self.assertIn(port["targetPort"], ports)
                    self.assertEqual(port["port"], ports[port["targetPort"]])
            policy = r.one("NetworkPolicy")
            self.assertTrue(matches(policy["spec"]["podSelector"]["matchLabels"],
                                    pod_labels))
            policy_ports = [p["port"] for rule in policy["spec"]["ingress"]
                            for p in rule["ports"]]
            self.assertEqual(sorted(policy_ports), ["grpc", "metrics"])
            pdb = r.one("PodDisruptionBudget")
            self.assertTrue(matches(pdb["spec"]["selector"]["matchLabels"], pod_labels))
            hpa = r.one("HorizontalPodAutoscaler")
            target = hpa["spec"]["scaleTargetRef"]
            self.assertEqual((target["kind"], target["name"]),
                             ("Deployment", deployment["metadata"]["name"]))
            self.assertGreaterEqual(hpa["spec"]["maxReplicas"], hpa["spec"]["minReplicas"])
            (cpu_metric,) = [m for m in hpa["spec"]["metrics"] if m["type"] == "Resource"]
            self.assertEqual(cpu_metric["resource"]["name"], "cpu")

    def test_pod_is_non_root_read_only_and_bounded(self):
        for _, r in self.each():
            _, pod, container, _, _, _ = self.parts(r)
            self.assertTrue(pod["securityContext"]["runAsNonRoot"])
            self.assertEqual(pod["securityContext"]["runAsUser"], 10001)
            security = container["securityContext"]
            self.assertTrue(security["readOnlyRootFilesystem"])
            self.assertFalse(security["allowPrivilegeEscalation"])
            self.assertEqual(security["capabilities"]["drop"], ["ALL"])
            for kind in ("requests", "limits"):
                self.assertIn("cpu", container["resources"][kind])
                self.assertIn("memory", container["resources"][kind])
            # The read-only root needs a writable /tmp.
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            self.assertIn("/tmp", mounts)

    def test_images_and_ports_agree_with_the_containerfiles(self):
        for overlay, r in self.each():
            _, _, container, ports, _, flags = self.parts(r)
            name = {"cpu": "Containerfile", "gpu": "Containerfile.cuda"}[overlay]
            text = containerfile(name)
            expose = sorted(int(p) for line in re.findall(r"^EXPOSE (.*)$", text, re.M)
                            for p in line.split())
            self.assertEqual(expose, sorted(ports.values()), name)
            self.assertIn("USER 10001:10001", text, name)
            image = container["image"]
            self.assertTrue(image.endswith(":" + {"cpu": "cpu", "gpu": "cuda"}[overlay]),
                            image)
            self.assertEqual(flags["device"], {"cpu": "cpu", "gpu": "cuda"}[overlay])

    def test_gpu_overlay_asks_for_one_gpu_on_a_gpu_node(self):
        _, pod, container, _, _, _ = self.parts(self.rendered["gpu"])
        self.assertEqual(container["resources"]["limits"]["nvidia.com/gpu"], 1)
        self.assertTrue(pod["nodeSelector"])
        self.assertIn("nvidia.com/gpu", [t["key"] for t in pod["tolerations"]])
        _, cpu_pod, cpu_container, _, _, _ = self.parts(self.rendered["cpu"])
        self.assertNotIn("nvidia.com/gpu", cpu_container["resources"]["limits"])
        self.assertNotIn("tolerations", cpu_pod)


class ServiceMonitorTest(unittest.TestCase):
    """The commented-in ServiceMonitor scrapes the Service's metrics port."""

    def test_service_monitor_names_the_metrics_port(self):
        with open(os.path.join(K8S, "base", "servicemonitor.yaml")) as f:
            monitor = yaml.safe_load(f)
        with open(os.path.join(K8S, "base", "service.yaml")) as f:
            services = [d for d in yaml.safe_load_all(f) if d]
        (endpoint,) = monitor["spec"]["endpoints"]
        self.assertEqual(endpoint["path"], "/metrics")
        (cluster_ip,) = [s for s in services if s["metadata"]["name"] == "explainer"]
        self.assertIn(endpoint["port"], [p["name"] for p in cluster_ip["spec"]["ports"]])


def metric_names():
    """Every metric family service/server/metrics.cc exposes."""
    with open(os.path.join(ROOT, "service", "server", "metrics.cc")) as f:
        source = f.read()
    names = set(re.findall(r'\.Name\("([a-z_]+)"\)', source))
    names |= set(re.findall(r'GaugeFamily\(\s*"([a-z_]+)"', source))
    names |= set(re.findall(r'\.name = "([a-z_]+)"', source))
    return names


class DashboardAndDocsTest(unittest.TestCase):
    """The Grafana dashboard uses only metrics the server has; the README documents
    every one of them."""

    def test_metric_names_found(self):
        names = metric_names()
        for name in ("explainer_items_total", "explainer_calls_total",
                     "explainer_stage_duration_seconds", "explainer_batch_size",
                     "explainer_queue_depth", "explainer_calls_in_flight",
                     "explainer_refused_calls_total", "explainer_model_info",
                     "process_cpu_seconds_total", "process_resident_memory_bytes",
                     "explainer_cuda_memory_allocated_bytes",
                     "explainer_cuda_memory_reserved_bytes"):
            self.assertIn(name, names)

    def test_dashboard_queries_known_metrics(self):
        import json
        with open(os.path.join(ROOT, "deploy", "grafana", "explainer-dashboard.json")) as f:
            dashboard = json.load(f)
        known = metric_names()
        used = set()
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                for name in re.findall(r"\b((?:explainer|process)_[a-z_]+)", target["expr"]):
                    base = re.sub(r"_(bucket|sum|count)$", "", name)
                    self.assertTrue(name in known or base in known,
                                    f"panel {panel['title']!r} uses unknown {name}")
                    used.add(name if name in known else base)
        # Throughput, latency percentiles, batch size, queue depth, errors.
        for name in ("explainer_items_total", "explainer_stage_duration_seconds",
                     "explainer_batch_size", "explainer_queue_depth",
                     "explainer_refused_calls_total"):
            self.assertIn(name, used)

    def test_readme_documents_every_metric(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        missing = sorted(n for n in metric_names() if f"`{n}`" not in readme)
        self.assertFalse(missing, f"metrics the README does not document: {missing}")


class ContainerfileDependenciesTest(unittest.TestCase):
    """The images' build stage installs every C++ -dev package of install-deps.sh
    (the CMake configure of the whole tree needs them), except the fuzzing
    toolchain's; the CUDA image takes LibTorch from PyTorch instead of Debian."""

    def test_build_stage_has_every_dev_package(self):
        with open(os.path.join(ROOT, "scripts", "install-deps.sh")) as f:
            listed = re.search(r"PACKAGES=\((.*?)\n\)", f.read(), re.S).group(1)
        words = set()
        for line in listed.splitlines():
            words.update(line.split("#", 1)[0].split())
        dev = {w for w in words if w.endswith("-dev")} - {
            "libfuzzer-14-dev", "libclang-rt-14-dev"}
        for name, skip in (("Containerfile", set()), ("Containerfile.cuda", {"libtorch-dev"})):
            text = containerfile(name)
            missing = sorted(p for p in dev - skip if not re.search(rf"\s{re.escape(p)}\s", text))
            self.assertFalse(missing, f"{name} build stage lacks {missing}")
        self.assertNotIn(" libtorch-dev ", containerfile("Containerfile.cuda"))


class FlagParsingTest(unittest.TestCase):
    def test_flag_lines(self):
        self.assertEqual(parse_flags("--a=1\n# c\n\n--b\n"), {"a": "1", "b": "true"})
        with self.assertRaises(AssertionError):
            parse_flags("address=1")


if __name__ == "__main__":
    unittest.main()
