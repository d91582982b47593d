#!/usr/bin/env python3
"""Security end to end: the real explainer-server with mTLS, tokens and an audit log,
called by the real `explainer` client and by a Python grpcio client built from the
proto (Debian's python3-grpcio; stubs generated at test time by /usr/bin/protoc and
grpc_python_plugin), with certificates made at test time by make_test_certs.sh.

Covers issue 9's "done when": the right certificate and token are served; everyone
else is refused with a clear message (client exit 3); every item is in the audit log
without file names or request ids; token and certificate rotation while a stream is
open; health stays open without a token; reflection is off.

Usage: security_e2e_test.py --server BIN --client BIN [--root DIR] [--model BUNDLE]
"""
import argparse
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.realpath(__file__))
ARGS = None


def generate_stubs(root, out_dir):
    subprocess.run(
        ["/usr/bin/protoc", "-I" + os.path.join(root, "proto"),
         "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
         "--python_out=" + out_dir, "--grpc_out=" + out_dir,
         os.path.join(root, "proto/explainer/v1/explainer.proto")],
        check=True)
    sys.path.insert(0, out_dir)


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class SecurityE2ETest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc  # noqa: F401  (fail early when python3-grpcio is missing)
        cls.dir = tempfile.mkdtemp(prefix="explainer_security_e2e_")
        d = cls.dir
        subprocess.run(["sh", os.path.join(HERE, "make_test_certs.sh"), os.path.join(d, "pki")],
                       check=True)
        cls.pki = os.path.join(d, "pki")
        generate_stubs(ARGS.root, d)
        # The server's certificate files as a cert-manager Secret would mount them.
        shutil.copy(os.path.join(cls.pki, "server.pem"), os.path.join(d, "tls.crt"))
        shutil.copy(os.path.join(cls.pki, "server.key"), os.path.join(d, "tls.key"))
        cls.tokens = os.path.join(d, "tokens.txt")
        write_atomically(cls.tokens, b"# callers\nalice:alice-token-0123456789\n")
        with open(os.path.join(d, "alice.token"), "w") as f:
            f.write("alice-token-0123456789\n")
        with open(os.path.join(d, "bad.token"), "w") as f:
            f.write("not-a-token\n")
        cls.audit = os.path.join(d, "audit.jsonl")
        cls.out = open(os.path.join(d, "server.out"), "w+")
        cls.err = open(os.path.join(d, "server.err"), "w+")
        cls.server = subprocess.Popen(
            [ARGS.server, "--address=127.0.0.1:0", "--model=" + ARGS.model,
             "--tls_cert=" + os.path.join(d, "tls.crt"), "--tls_key=" + os.path.join(d, "tls.key"),
             "--tls_client_ca=" + os.path.join(cls.pki, "ca.pem"), "--tls_reload_s=1",
             "--auth_tokens=" + cls.tokens, "--audit_log=" + cls.audit, "--max_streams=2",
             "--keepalive_s=1", "--keepalive_timeout_s=5"],
            stdout=cls.out, stderr=cls.err)
        deadline = time.time() + 180
        cls.startup = None
        while time.time() < deadline and cls.startup is None:
            if cls.server.poll() is not None:
                cls.err.seek(0)
                raise RuntimeError("server exited: " + cls.err.read())
            cls.out.seek(0)
            for line in cls.out.read().splitlines():
                if "serving model" in line:
                    cls.startup = line
            time.sleep(0.2)
        if cls.startup is None:
            raise RuntimeError("no start-up line in 180 s")
        cls.port = int(re.search(r" at 127\.0\.0\.1:(\d+)", cls.startup).group(1))
        cls.target = f"127.0.0.1:{cls.port}"
        cls.images = os.path.join(d, "images")
        os.makedirs(cls.images)
        cls.image_bytes = read(os.path.join(ARGS.root, "tests/data/common/golden/input_37x29.png"))
        with open(os.path.join(cls.images, "PATIENT-4711_knee.png"), "wb") as f:
            f.write(cls.image_bytes)

    @classmethod
    def tearDownClass(cls):
        cls.server.send_signal(signal.SIGTERM)
        try:
            cls.server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            cls.server.kill()
        shutil.rmtree(cls.dir, ignore_errors=True)

    # --------------------------------------------------------------- helpers
    def pem(self, name):
        return read(os.path.join(self.pki, name))

    def channel(self, ca="ca.pem", cert="client.pem", key="client.key"):
        import grpc
        creds = grpc.ssl_channel_credentials(
            self.pem(ca), self.pem(key) if key else None, self.pem(cert) if cert else None)
        # A fresh connection per channel: each sees the server's current certificate.
        return grpc.secure_channel(self.target, creds, options=[("grpc.use_local_subchannel_pool", 1)])

    def stub(self, channel):
        from explainer.v1 import explainer_pb2_grpc
        return explainer_pb2_grpc.ExplainerStub(channel)

    def model_info(self, channel, token=None, timeout=10):
        from explainer.v1 import explainer_pb2
        metadata = [("authorization", "Bearer " + token)] if token else None
        return self.stub(channel).GetModelInfo(explainer_pb2.GetModelInfoRequest(),
                                               metadata=metadata, timeout=timeout)

    def client(self, *flags):
        r = subprocess.run([ARGS.client, "info", "--server=" + self.target,
                            "--connect-timeout=10s", *flags],
                           capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if k != "EXPLAINER_TOKEN"})
        return r.returncode, r.stdout + r.stderr

    def audit_lines(self, path=None):
        with open(path or self.audit) as f:
            return [json.loads(line) for line in f if line.strip()]

    # ----------------------------------------------------------------- tests
    def test_1_startup_line_says_what_is_on(self):
        self.assertIn("mTLS on, tokens on (1 callers)", self.startup)
        self.assertIn("reflection off", self.startup)

    def test_2_client_infer_with_the_right_certificate_and_token(self):
        out = os.path.join(self.dir, "out")
        r = subprocess.run(
            [ARGS.client, "infer", "--server=" + self.target, "--input-dir=" + self.images,
             "--out=" + out, "--tls-ca=" + os.path.join(self.pki, "ca.pem"),
             "--tls-cert=" + os.path.join(self.pki, "client.pem"),
             "--tls-key=" + os.path.join(self.pki, "client.key"),
             "--token-file=" + os.path.join(self.dir, "alice.token")],
            capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        items = [l for l in self.audit_lines() if l["event"] == "item"]
        self.assertTrue(items)
        line = items[-1]
        self.assertEqual(line["code"], "OK")
        self.assertEqual(line["image_sha256"], hashlib.sha256(self.image_bytes).hexdigest())
        self.assertEqual(line["caller"], "mtls:CN=client-a token:alice")
        self.assertEqual(line["model"], "explainer-demo")
        self.assertEqual(len(line["bundle_sha256"]), 64)
        text = read(self.audit).decode()
        for secret in ("PATIENT-4711", "knee", "alice-token-0123456789"):
            self.assertNotIn(secret, text)

    def test_3_client_refusals_say_which(self):
        pki = self.pki
        cases = [
            (["--tls-ca=" + os.path.join(pki, "ca.pem"),
              "--token-file=" + os.path.join(self.dir, "alice.token")],
             "client certificate required"),
            (["--tls-ca=" + os.path.join(pki, "other_ca.pem"),
              "--tls-cert=" + os.path.join(pki, "client.pem"),
              "--tls-key=" + os.path.join(pki, "client.key"),
              "--token-file=" + os.path.join(self.dir, "alice.token")],
             "untrusted server certificate"),
            (["--tls-ca=" + os.path.join(pki, "ca.pem"),
              "--tls-cert=" + os.path.join(pki, "other_client.pem"),
              "--tls-key=" + os.path.join(pki, "other_client.key"),
              "--token-file=" + os.path.join(self.dir, "alice.token")],
             "refused the client certificate"),
            (["--tls-ca=" + os.path.join(pki, "ca.pem"),
              "--tls-cert=" + os.path.join(pki, "client.pem"),
              "--tls-key=" + os.path.join(pki, "client.key"),
              "--token-file=" + os.path.join(self.dir, "bad.token")],
             "bad token"),
            (["--tls-ca=" + os.path.join(pki, "ca.pem"),
              "--tls-cert=" + os.path.join(pki, "client.pem"),
              "--tls-key=" + os.path.join(pki, "client.key")],
             "requires a token and none was given"),
            ([], "it probably requires TLS"),
        ]
        for flags, expected in cases:
            with self.subTest(expected=expected):
                rc, text = self.client(*flags)
                self.assertEqual(rc, 3, text)
                self.assertIn(expected, text)
        refused = [l for l in self.audit_lines() if l["event"] == "refused"]
        self.assertTrue(any(l["reason"] == "unknown token" for l in refused))
        self.assertTrue(any(l["reason"] == "no bearer token" for l in refused))
        self.assertNotIn("not-a-token", read(self.audit).decode())

    def test_4_python_client_tls_and_token(self):
        import grpc
        from explainer.v1 import explainer_pb2
        channel = self.channel()
        self.assertEqual(self.model_info(channel, "alice-token-0123456789").name, "explainer-demo")
        with self.assertRaises(grpc.RpcError) as refused:
            self.model_info(channel)
        self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as wrong:
            self.model_info(channel, "not-a-token")
        self.assertEqual(wrong.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as untrusted:
            self.model_info(self.channel(ca="other_ca.pem"), "alice-token-0123456789")
        self.assertEqual(untrusted.exception.code(), grpc.StatusCode.UNAVAILABLE)
        with self.assertRaises(grpc.RpcError) as no_cert:
            self.model_info(self.channel(cert=None, key=None), "alice-token-0123456789")
        self.assertEqual(no_cert.exception.code(), grpc.StatusCode.UNAVAILABLE)
        answer = self.stub(channel).ExplainImage(
            explainer_pb2.ExplainRequest(request_id="py-1", image=self.image_bytes),
            metadata=[("authorization", "Bearer alice-token-0123456789")], timeout=120)
        self.assertEqual(answer.request_id, "py-1")
        self.assertTrue(answer.HasField("result"), answer)

    def test_5_health_is_open_and_reflection_is_off(self):
        import grpc
        channel = self.channel()
        # grpc.health.v1.Health/Check with an empty HealthCheckRequest: answered
        # without a token (SERVING = field 1 varint 1).
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        self.assertEqual(check(b"", timeout=10), b"\x08\x01")
        reflect = channel.unary_unary("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        with self.assertRaises(grpc.RpcError) as off:
            reflect(b"", timeout=10)
        self.assertEqual(off.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_55_health_check_flag_probes_over_mtls(self):
        tls = ["--tls_cert=" + os.path.join(self.dir, "tls.crt"),
               "--tls_key=" + os.path.join(self.dir, "tls.key"),
               "--tls_client_ca=" + os.path.join(self.pki, "ca.pem")]
        r = subprocess.run([ARGS.server, "--health_check", "--address=" + self.target, *tls],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("is SERVING", r.stdout)
        # Plaintext against the TLS server fails (the probe must follow the flags).
        r = subprocess.run([ARGS.server, "--health_check", "--address=" + self.target],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

    def test_6_token_rotation_without_a_restart(self):
        import grpc
        from explainer.v1 import explainer_pb2
        channel = self.channel()
        # A stream opened with alice's token before the rotation.
        requests = queue.Queue()

        def request_iter():
            while True:
                item = requests.get()
                if item is None:
                    return
                yield item

        stream = self.stub(channel).Explain(
            request_iter(), metadata=[("authorization", "Bearer alice-token-0123456789")],
            timeout=300)
        requests.put(explainer_pb2.ExplainRequest(request_id="t-1", image=self.image_bytes))
        self.assertEqual(next(stream).request_id, "t-1")
        write_atomically(self.tokens, b"alice:alice-token-0123456789\nbob:bob-token-9876543210\n")
        deadline = time.time() + 10
        while True:
            try:
                self.model_info(channel, "bob-token-9876543210")
                break
            except grpc.RpcError:
                self.assertLess(time.time(), deadline, "bob's token never accepted")
                time.sleep(0.2)
        write_atomically(self.tokens, b"bob:bob-token-9876543210\n")  # revoke alice
        deadline = time.time() + 10
        while True:
            try:
                self.model_info(channel, "alice-token-0123456789")
                self.assertLess(time.time(), deadline, "alice's token never revoked")
                time.sleep(0.2)
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED)
                break
        # The stream opened before goes on: tokens are checked when a call starts.
        requests.put(explainer_pb2.ExplainRequest(request_id="t-2", image=self.image_bytes))
        self.assertEqual(next(stream).request_id, "t-2")
        requests.put(None)
        self.assertEqual(list(stream), [])
        write_atomically(self.tokens, b"alice:alice-token-0123456789\n")
        time.sleep(1.5)

    def test_7_certificate_rotation_while_a_stream_runs(self):
        import grpc
        from explainer.v1 import explainer_pb2
        requests = queue.Queue()

        def request_iter():
            while True:
                item = requests.get()
                if item is None:
                    return
                yield item

        channel = self.channel()
        responses = self.stub(channel).Explain(
            request_iter(), metadata=[("authorization", "Bearer alice-token-0123456789")],
            timeout=300)
        requests.put(explainer_pb2.ExplainRequest(request_id="s-1", image=self.image_bytes))
        self.assertEqual(next(responses).request_id, "s-1")

        # The renewed certificate, from another CA so that the switch is visible.
        write_atomically(os.path.join(self.dir, "tls.key"), self.pem("other_server.key"))
        write_atomically(os.path.join(self.dir, "tls.crt"), self.pem("other_server.pem"))
        deadline = time.time() + 20
        while True:
            try:
                self.model_info(self.channel(ca="other_ca.pem"), "alice-token-0123456789", timeout=5)
                break
            except grpc.RpcError:
                self.assertLess(time.time(), deadline, "new connections never got the new cert")
                time.sleep(0.3)
        with self.assertRaises(grpc.RpcError):
            self.model_info(self.channel(ca="ca.pem"), "alice-token-0123456789", timeout=5)

        requests.put(explainer_pb2.ExplainRequest(request_id="s-2", image=self.image_bytes))
        answer = next(responses)
        self.assertEqual(answer.request_id, "s-2")
        self.assertTrue(answer.HasField("result"), answer)
        requests.put(None)
        self.assertEqual(list(responses), [])

        write_atomically(os.path.join(self.dir, "tls.key"), self.pem("server.key"))
        write_atomically(os.path.join(self.dir, "tls.crt"), self.pem("server.pem"))
        deadline = time.time() + 20
        while True:
            try:
                self.model_info(self.channel(), "alice-token-0123456789", timeout=5)
                break
            except grpc.RpcError:
                self.assertLess(time.time(), deadline)
                time.sleep(0.3)

    def test_75_stream_limit_refuses_at_once_and_the_server_stays_healthy(self):
        import grpc
        from explainer.v1 import explainer_pb2
        metadata = [("authorization", "Bearer alice-token-0123456789")]
        stub = self.stub(self.channel())
        holds = [queue.Queue() for _ in range(2)]

        def hold(q):
            while True:
                item = q.get()
                if item is None:
                    return
                yield item

        open_streams = [stub.Explain(hold(q), metadata=metadata, timeout=60) for q in holds]
        time.sleep(1.0)  # both streams reach the server
        refused = stub.Explain(iter([explainer_pb2.ExplainRequest(request_id="x",
                                                                  image=self.image_bytes)]),
                               metadata=metadata, timeout=30)
        with self.assertRaises(grpc.RpcError) as busy:
            list(refused)
        self.assertEqual(busy.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("(--max_streams)", busy.exception.details())
        for q in holds:
            q.put(None)
        for stream in open_streams:
            self.assertEqual(list(stream), [])
        # Room again, and the server still answers.
        time.sleep(0.5)
        answers = list(stub.Explain(iter([explainer_pb2.ExplainRequest(
            request_id="after", image=self.image_bytes)]), metadata=metadata, timeout=120))
        self.assertEqual([a.request_id for a in answers], ["after"])
        reasons = [l.get("reason") for l in self.audit_lines() if l["event"] == "refused"]
        self.assertIn("--max_streams", reasons)

    def test_8_audit_log_reopens_on_sighup(self):
        rotated = self.audit + ".1"
        os.rename(self.audit, rotated)
        self.server.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.model_info(self.channel(), "alice-token-0123456789")
        import grpc
        with self.assertRaises(grpc.RpcError):
            self.model_info(self.channel(), "wrong")
        deadline = time.time() + 10
        while not os.path.exists(self.audit) and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual([l["event"] for l in self.audit_lines()], ["refused"])
        self.assertTrue(self.audit_lines(rotated))
        self.assertIsNone(self.server.poll(), "SIGHUP must not stop the server")


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(HERE))
    p.add_argument("--root", default=root)
    p.add_argument("--server", required=True)
    p.add_argument("--client", required=True)
    p.add_argument("--model", default=os.path.join(root, "models/demo/explainer-demo.pt"))
    ARGS, rest = p.parse_known_args()
    ARGS.server = os.path.abspath(ARGS.server)
    ARGS.client = os.path.abspath(ARGS.client)
    ARGS.model = os.path.abspath(ARGS.model)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
