#!/usr/bin/env python3
"""`explainer bench` and its companions cannot silently break: their own output,
text and --json, parsed on the tiny test bundle.

Starts the real explainer-server (tests/data/engine/tiny_bundle.pt, 127.0.0.1:0, one
engine and one worker thread) and checks:
- bench over generated images: the text lines parse, the JSON has every figure, and
  the two agree (items, errors, histogram summing to the items, ordered percentiles,
  the six stage medians, wire bytes larger than the image bytes sent);
- predict mode answers with smaller responses than overlay mode; unary calls work;
- a folder with an undecodable image: exit status 1, every item an error naming it;
- a bad --mode is a usage error (status 2) naming the flag;
- explainer-engine-bench, tools/bench/anchors.py and tools/bench/compare.py on the
  images bench wrote: their reports parse and compare prints the three ratios.
Sizes are tiny (a few 96x80 images); nothing is timed or compared against a number.

Binaries from $EXPLAINER_SERVER, $EXPLAINER_CLIENT, $EXPLAINER_ENGINE_BENCH (set by
ctest and Bazel).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest


def repo_root():
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.dirname(os.path.dirname(os.path.dirname(here)))


ROOT = repo_root()
MODEL = os.path.join(ROOT, "tests", "data", "engine", "tiny_bundle.pt")
PY = "/usr/bin/python3"
STAGES = {"decode", "preprocess", "queue", "inference", "postprocess", "total"}


def binary(variable):
    path = os.environ.get(variable, "")
    if not path or not os.path.exists(path):
        raise AssertionError(f"${variable} must name the binary (got {path!r})")
    return os.path.abspath(path)


def run(argv, timeout=180):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def parse_text(text):
    """The figures of bench's text output, by line."""
    lines = dict(line.split(": ", 1) for line in text.strip().splitlines() if ": " in line)
    m = re.fullmatch(r"(\d+) images, (\d+) errors, ([\d.]+) s", lines["measured"])
    figures = {"items": int(m[1]), "errors": int(m[2]), "seconds": float(m[3])}
    figures["images_per_s"] = float(re.fullmatch(r"([\d.]+) images/s", lines["throughput"])[1])
    lat = re.fullmatch(r"p50 ([\d.]+) p90 ([\d.]+) p99 ([\d.]+) max ([\d.]+)", lines["latency ms"])
    figures["latency"] = [float(v) for v in lat.groups()]
    stages = lines["server stage medians ms"]
    figures["stages"] = {} if stages == "none" else {
        k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+)", stages)}
    sizes = lines["batch sizes (size:items)"]
    figures["batches"] = {} if sizes == "none" else {
        int(k): int(v) for k, v in re.findall(r"(\d+):(\d+)", sizes)}
    wire = re.fullmatch(r"request (\d+) response (\d+)", lines["wire bytes per item"])
    figures["wire"] = (int(wire[1]), int(wire[2]))
    figures["first_error"] = lines.get("first error", "")
    return figures


class BenchOutputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = binary("EXPLAINER_CLIENT")
        cls.tmp = tempfile.mkdtemp(prefix="bench_output_test_")
        log = os.path.join(cls.tmp, "server.log")
        cls.log = open(log, "w")
        cls.server = subprocess.Popen(
            [binary("EXPLAINER_SERVER"), "--address=127.0.0.1:0", f"--model={MODEL}",
             "--threads=1", "--workers=1"], stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        cls.address = None
        while time.time() < deadline and cls.address is None:
            with open(log) as f:
                m = re.search(r"^explainer-server: serving .* at (\S+)$", f.read(), re.M)
            if m:
                cls.address = m[1]
            elif cls.server.poll() is not None:
                break
            else:
                time.sleep(0.2)
        if cls.address is None:
            cls.tearDownClass()
            raise AssertionError("the server did not start: " + open(log).read())

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        try:
            cls.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cls.server.kill()
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def bench(self, *flags, json_name=None):
        argv = [self.client, "bench", f"--server={self.address}", *flags]
        if json_name:
            argv.append(f"--json={os.path.join(self.tmp, json_name)}")
        return run(argv)

    def test_text_and_json_agree(self):
        result = self.bench("--image-size=96x80", "--images=3", "--count=6", "--warmup=2",
                            "--window=2", json_name="overlay.json")
        self.assertEqual(result.returncode, 0, result.stderr)
        text = parse_text(result.stdout)
        with open(os.path.join(self.tmp, "overlay.json")) as f:
            report = json.load(f)
        self.assertEqual(report["kind"], "served")
        self.assertEqual((text["items"], text["errors"]), (6, 0))
        self.assertEqual((report["items"], report["errors"]), (6, 0))
        self.assertEqual(report["setup"]["mode"], "overlay")
        self.assertEqual(report["setup"]["images"], "3 generated 96x80 JPEG")
        self.assertIn("tiny_efficientnet-test", report["setup"]["model"])
        self.assertGreater(report["images_per_s"], 0)
        self.assertAlmostEqual(text["images_per_s"], report["images_per_s"], delta=0.01)
        lat = report["latency_ms"]
        ordered = [lat["p50"], lat["p90"], lat["p99"], lat["max"]]
        self.assertEqual(ordered, sorted(ordered))
        self.assertGreater(lat["p50"], 0)
        for mine, theirs in zip(text["latency"], ordered):
            self.assertAlmostEqual(mine, theirs, delta=0.051)
        self.assertEqual(set(report["server_stage_median_ms"]), STAGES)
        self.assertEqual(set(text["stages"]), STAGES)
        self.assertGreater(report["server_stage_median_ms"]["inference"], 0)
        histogram = {int(k): v for k, v in report["batch_size_histogram"].items()}
        self.assertEqual(histogram, text["batches"])
        self.assertEqual(sum(histogram.values()), 6)
        self.assertTrue(all(1 <= size <= 8 for size in histogram))  # the server's default max
        images = os.path.join(self.tmp, "written")
        written = run([self.client, "bench", "--write-images", images, "--images=3",
                       "--image-size=96x80"])
        self.assertEqual(written.returncode, 0, written.stderr)
        smallest = min(os.path.getsize(os.path.join(images, n)) for n in os.listdir(images))
        self.assertGreater(report["wire_bytes_per_item"]["request"], smallest)
        self.assertGreater(report["wire_bytes_per_item"]["response"], 0)
        self.assertEqual(text["wire"][0], round(report["wire_bytes_per_item"]["request"]))

    def test_predict_answers_smaller_than_overlay(self):
        sizes = {}
        for mode in ("predict", "overlay"):
            result = self.bench("--image-size=96x80", "--images=2", "--count=4", "--warmup=0",
                                f"--mode={mode}", json_name=f"{mode}.json")
            self.assertEqual(result.returncode, 0, result.stderr)
            sizes[mode] = parse_text(result.stdout)["wire"][1]
        self.assertLess(sizes["predict"], sizes["overlay"])

    def test_unary_calls(self):
        result = self.bench("--image-size=96x80", "--images=2", "--count=4", "--unary",
                            "--window=2", "--mode=raw", json_name="unary.json")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("transport: unary, 2 concurrent calls", result.stdout)
        self.assertEqual(parse_text(result.stdout)["items"], 4)

    def test_bad_image_is_counted_and_named(self):
        folder = os.path.join(self.tmp, "bad")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "broken.png"), "wb") as f:
            f.write(b"not a png at all")
        result = self.bench(f"--input-dir={folder}", "--count=3", "--warmup=0",
                            json_name="bad.json")
        self.assertEqual(result.returncode, 1, result.stderr)
        text = parse_text(result.stdout)
        self.assertEqual((text["items"], text["errors"]), (3, 3))
        self.assertIn("code 3", text["first_error"])
        self.assertEqual(text["stages"], {})
        with open(os.path.join(self.tmp, "bad.json")) as f:
            self.assertEqual(json.load(f)["errors"], 3)

    def test_bad_mode_is_a_usage_error(self):
        result = self.bench("--mode=png")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--mode: 'png' is not one of", result.stderr)

    def test_engine_bench_anchors_and_compare(self):
        images = os.path.join(self.tmp, "same_images")
        self.assertEqual(run([self.client, "bench", "--write-images", images, "--images=2",
                              "--image-size=96x80"]).returncode, 0)
        served = self.bench(f"--input-dir={images}", "--count=4", "--warmup=0",
                            json_name="served.json")
        self.assertEqual(served.returncode, 0, served.stderr)
        engine_json = os.path.join(self.tmp, "engine.json")
        engine = run([binary("EXPLAINER_ENGINE_BENCH"), f"--model={MODEL}",
                      f"--input_dir={images}", "--batch_size=2", "--batches=1",
                      "--warmup_batches=1", "--threads=1", "--decode_threads=2",
                      f"--json={engine_json}"])
        self.assertEqual(engine.returncode, 0, engine.stderr)
        self.assertRegex(engine.stdout, r"mode grad-cam \(engine only\): [\d.]+ images/s")
        self.assertRegex(engine.stdout,
                         r"mode grad-cam\+decode-pipelined \(with decode\+preprocess on 2 "
                         r"other thread\(s\), a batch ahead\): [\d.]+ images/s")
        with open(engine_json) as f:
            report = json.load(f)
        self.assertEqual(set(report["modes"]),
                         {"forward", "grad-cam", "grad-cam+decode", "grad-cam+decode-pipelined"})
        self.assertTrue(report["modes"]["grad-cam+decode"]["includes_decode"])
        self.assertEqual(report["modes"]["grad-cam+decode-pipelined"]["decode_threads"], 2)
        self.assertEqual(report["modes"]["grad-cam+decode-pipelined"]["images"], 2)
        self.assertEqual(report["modes"]["forward"]["images"], 2)
        anchors_json = os.path.join(self.tmp, "anchors.json")
        anchors = run([PY, os.path.join(ROOT, "tools", "bench", "anchors.py"), "--model", MODEL,
                       "--input-dir", images, "--batch-size=2", "--batches=1",
                       "--warmup-batches=1", "--threads=1", "--json", anchors_json])
        self.assertEqual(anchors.returncode, 0, anchors.stderr)
        with open(anchors_json) as f:
            self.assertEqual(set(json.load(f)["modes"]),
                             {"torchscript-forward", "eager-forward", "pytorch-grad-cam"})
        compare = run([PY, os.path.join(ROOT, "tools", "bench", "compare.py"),
                       os.path.join(self.tmp, "served.json"), engine_json, anchors_json])
        self.assertEqual(compare.returncode, 0, compare.stderr)
        for label in ("served / in-process CAM", "served / in-process CAM+decode",
                      "in-process CAM / in-process forward",
                      "in-process CAM / pytorch-grad-cam"):
            self.assertRegex(compare.stdout, re.escape(label) + r"\s+[\d.]+  goal >= ")
        wrong = run([PY, os.path.join(ROOT, "tools", "bench", "compare.py"), engine_json,
                     engine_json, anchors_json])
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("expected a report of kind 'served'", wrong.stderr)


if __name__ == "__main__":
    unittest.main()
