#!/usr/bin/python3
"""Makes demo_expectations.json: the demo model's predictions on a fixed set of
phantom images, computed independently of the C++ code, in Python / PyTorch.

The end-to-end test (tests/e2e/demo_stability_test.cc) regenerates the same images
with explainer-phantom, runs them through explainer-server (demo bundle) and the
`explainer` client, and compares: the predicted class must be equal and every
probability within 1e-4.

Rerun (from the repository root, with Debian's python3: torch 1.13, cv2, numpy),
after building explainer-phantom, whenever the phantom generator or the demo
bundle changes (the test says so: it checks the hashes recorded here):
    cmake --build build --target explainer-phantom
    /usr/bin/python3 tests/data/e2e/make_demo_expectations.py \
        --phantom build/tools/phantom/explainer-phantom

Reference semantics (docs: shared/guide/architecture.md): decode with OpenCV
(cv2.imread, colour, EXIF-oriented) -> RGB -> cv2.resize to the bundle's input size
with INTER_LINEAR -> (x / 255 - mean) / std -> forward() -> softmax. One image per
forward call, float32.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL = "models/demo/explainer-demo.pt"
SEED = 20240611
COUNT = 12
OUT = os.path.join(HERE, "demo_expectations.json")


def fnv1a64(data: bytes) -> str:
    """64-bit FNV-1a as 16 hex digits; the C++ test computes the same."""
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def load_bundle(path):
    extra = {"explainer.json": ""}
    model = torch.jit.load(path, map_location="cpu", _extra_files=extra)
    model.eval()
    spec = json.loads(extra["explainer.json"])
    return model, spec


def preprocess(path, spec):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        sys.exit("cannot decode %s" % path)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    height, width = spec["input_size"]["height"], spec["input_size"]["width"]
    resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
    x = resized.astype(np.float32) / 255.0
    x = (x - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phantom", required=True, help="the explainer-phantom binary")
    parser.add_argument("--model", default=MODEL,
                        help="bundle, relative to the repository root (default: %(default)s)")
    parser.add_argument("--out", default=OUT, help="output file (default: %(default)s)")
    args = parser.parse_args()

    model_path = os.path.join(ROOT, args.model)
    with open(model_path, "rb") as f:
        model_hash = fnv1a64(f.read())
    model, spec = load_bundle(model_path)
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.phantom, "--out", tmp, "--count", str(COUNT), "--seed", str(SEED)],
                       check=True, stdout=subprocess.DEVNULL)
        image_dir = os.path.join(tmp, "images")
        names = sorted(n for n in os.listdir(image_dir) if n.lower().endswith((".jpeg", ".jpg")))
        if len(names) != COUNT:
            sys.exit("expected %d images from the phantom, got %d" % (COUNT, len(names)))
        images = []
        for name in names:
            path = os.path.join(image_dir, name)
            with open(path, "rb") as f:
                image_hash = fnv1a64(f.read())
            with torch.no_grad():
                logits = model.forward(preprocess(path, spec))
            probabilities = torch.softmax(logits.double(), dim=1)[0]
            predicted = int(torch.argmax(logits[0]))
            images.append({
                "file": name,
                "fnv1a64": image_hash,
                "predicted_index": predicted,
                "predicted_class": spec["class_names"][predicted],
                "probabilities": [round(float(p), 7) for p in probabilities],
            })

    expectations = {
        "generated_by": "tests/data/e2e/make_demo_expectations.py",
        "phantom": {"seed": SEED, "count": COUNT},
        "model": {"path": args.model, "fnv1a64": model_hash, "name": spec.get("name", ""),
                  "version": spec.get("version", "")},
        "class_names": spec["class_names"],
        "tolerance": 1e-4,
        "images": images,
    }
    with open(args.out, "w") as f:
        json.dump(expectations, f, indent=1)
        f.write("\n")
    counts = {}
    for image in images:
        counts[image["predicted_class"]] = counts.get(image["predicted_class"], 0) + 1
    print("wrote %s: %d images, predicted %s" % (args.out, len(images), counts))


if __name__ == "__main__":
    main()
