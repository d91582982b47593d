#!/usr/bin/env python3
"""Client-side load balancing over three real replicas, and losing one mid-run.

Starts three explainer-server processes on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (same
port, each with /metrics on its own address) and runs the real client:
- `explainer infer --lb=round_robin --server=ipv4:...` over a folder: every image is
  answered, and each replica's explainer_items_total (scraped over HTTP) is at least
  20% of the total;
- the same with one replica SIGKILLed while the run is under way: the client exits 0
  and every image is answered without error (what the dead replica left unanswered
  was re-sent to the others);
- dns:///localhost:<port> is accepted as a target.
Bounded: at most 3 servers, 90 + 120 small images, loopback addresses only, every
wait has a timeout.

Binaries from $EXPLAINER_SERVER and $EXPLAINER_CLIENT (set by ctest and Bazel);
$EXPLAINER_MODEL, when set, is the bundle (else the server's default demo bundle).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request


def repo_root():
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.dirname(os.path.dirname(here))


ROOT = repo_root()
IMAGE = os.path.join(ROOT, "tests", "data", "common", "golden", "input_37x29.png")
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


def binary(variable):
    path = os.environ.get(variable, "")
    if not path or not os.path.exists(path):
        raise AssertionError(f"${variable} must name the binary (got {path!r})")
    return os.path.abspath(path)


def loopback_aliases_work():
    for host in HOSTS:
        with socket.socket() as s:
            try:
                s.bind((host, 0))
            except OSError:
                return False
    return True


def free_port_on_all_hosts():
    for _ in range(50):
        with socket.socket() as s:
            s.bind((HOSTS[0], 0))
            port = s.getsockname()[1]
        ok = True
        for host in HOSTS[1:]:
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    ok = False
        if ok:
            return port
    raise AssertionError("no port free on all three loopback addresses")


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def items_answered(host, metrics_port):
    """explainer_items_total{rpc="Explain"} of one replica, all codes, or None."""
    try:
        with urllib.request.urlopen(f"http://{host}:{metrics_port}/metrics",
                                    timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    total = 0.0
    for m in re.finditer(r'^explainer_items_total\{([^}]*)\} (\S+)$', text, re.M):
        if 'rpc="Explain"' in m.group(1):
            total += float(m.group(2))
    return total


class Replica:
    def __init__(self, server, host, port, log_dir):
        self.host = host
        self.metrics_port = free_port(host)
        self.log = open(os.path.join(log_dir, f"server-{host}.log"), "w+")
        args = [server, f"--address={host}:{port}",
                f"--metrics_address={host}:{self.metrics_port}",
                "--threads=1", "--workers=1", "--max_connection_age_s=30"]
        if os.environ.get("EXPLAINER_MODEL"):
            args.append(f"--model={os.environ['EXPLAINER_MODEL']}")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log,
                                        text=True)

    def wait_serving(self, timeout_s=180):
        deadline = time.monotonic() + timeout_s
        # The start-up line is the first line on stdout.
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if "serving model" in line:
                return
            if self.process.poll() is not None:
                break
        self.log.seek(0)
        raise AssertionError(f"server on {self.host} did not start: {self.log.read()[-2000:]}")

    def items(self):
        return items_answered(self.host, self.metrics_port)

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@unittest.skipUnless(loopback_aliases_work(),
                     "127.0.0.2 / 127.0.0.3 cannot be bound here: load balancing NOT tested")
class LoadBalancingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = binary("EXPLAINER_SERVER")
        cls.client = binary("EXPLAINER_CLIENT")
        cls.tmp = tempfile.mkdtemp(prefix="explainer-lb-")
        cls.port = free_port_on_all_hosts()
        cls.replicas = [Replica(cls.server, h, cls.port, cls.tmp) for h in HOSTS]
        for replica in cls.replicas:
            replica.wait_serving()
        cls.target = "ipv4:" + ",".join(f"{h}:{cls.port}" for h in HOSTS)

    @classmethod
    def tearDownClass(cls):
        for replica in cls.replicas:
            replica.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def folder(self, name, count):
        path = os.path.join(self.tmp, name)
        os.makedirs(path)
        for i in range(count):
            shutil.copy(IMAGE, os.path.join(path, f"img_{i:04d}.png"))
        return path

    def infer(self, folder, out, **popen):
        return subprocess.Popen(
            [self.client, "infer", f"--server={self.target}", "--lb=round_robin",
             f"--input_dir={folder}", f"--out={out}", "--window=4"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)

    def records(self, out):
        with open(os.path.join(out, "results.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]

    def counts(self):
        return [r.items() for r in self.replicas]

    def test_1_round_robin_spreads_a_folder_over_every_replica(self):
        count = 90
        before = self.counts()
        out = os.path.join(self.tmp, "out-spread")
        client = self.infer(self.folder("spread", count), out)
        stdout, stderr = client.communicate(timeout=600)
        self.assertEqual(client.returncode, 0, stderr[-2000:])
        records = self.records(out)
        self.assertEqual(len(records), count)
        self.assertEqual([r for r in records if r.get("error")], [])
        after = self.counts()
        shares = [a - b for a, b in zip(after, before)]
        print(f"\nitems per replica (of {count}): {shares}")
        self.assertEqual(sum(shares), count)
        for host, share in zip(HOSTS, shares):
            self.assertGreaterEqual(share, 0.2 * count, f"{host} got {share} of {count}")

    def test_2_losing_a_replica_mid_run_loses_no_item(self):
        count = 120
        victim = self.replicas[2]
        before = victim.items()
        out = os.path.join(self.tmp, "out-kill")
        client = self.infer(self.folder("kill", count), out)
        # Mid-run: the victim has answered a few of this run's images.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and client.poll() is None:
            now = victim.items()
            if now is not None and now - before >= 5:
                break
            time.sleep(0.05)
        self.assertIsNone(client.poll(), "the run ended before a replica could be killed")
        killed_at = victim.items() - before
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=30)
        stdout, stderr = client.communicate(timeout=600)
        print(f"\nkilled {victim.host} after it answered {killed_at:.0f} image(s)")
        self.assertEqual(client.returncode, 0, stderr[-2000:])
        records = self.records(out)
        self.assertEqual(len(records), count)
        self.assertEqual(sorted(r["file"] for r in records),
                         sorted(f"img_{i:04d}.png" for i in range(count)))
        self.assertEqual([r for r in records if r.get("error")], [])
        self.assertLess(killed_at, count, "the victim answered the whole run")

    def test_3_dns_target_is_accepted(self):
        result = subprocess.run(
            [self.client, "info", f"--server=dns:///localhost:{self.port}",
             "--lb=round_robin"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_4_unknown_policy_is_refused_naming_the_flag(self):
        result = subprocess.run(
            [self.client, "info", f"--server={self.target}", "--lb=random"],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--lb: must be pick_first or round_robin", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
