#!/usr/bin/python3
"""Python anchors for `explainer bench`: the same bundle's weights and the same image
files, timed in PyTorch without Explainer.

Modes (each over --batches timed batches of --batch-size after --warmup-batches):
  torchscript-forward  the bundle's forward(x) under torch.inference_mode
  eager-forward        the original eager network (the bundle's weights loaded into the
                       architecture explainer.json names, or --arch) under inference_mode
  pytorch-grad-cam     GradCAM(model, target_layers=[<the bundle's target layer>]) called
                       as cam(input_tensor=batch, targets=None) (the predicted classes): hooks on
                       the target layer, a backward through the whole network, CAMs in
                       NumPy and cv2.resize per image, as pytorch-grad-cam 1.5 does.
Inputs are decoded (cv2, RGB) and preprocessed (INTER_LINEAR resize, (x/255-mean)/std)
once beforehand; that cost is reported separately per image.

GradCAM comes from pytorch-grad-cam itself when it is importable (PYTHONPATH; it is not a
Debian package and nothing here downloads it: scripts/bench.sh looks for an extracted copy
in build/bench/pgc), otherwise from the faithful re-implementation the engine goldens use
(tests/data/engine/make_engine_goldens.py); the report says which ("gradcam_source").

  tools/bench/anchors.py --model BUNDLE --input-dir DIR [--arch A] [--batch-size 8]
      [--batches 8] [--threads N] [--json FILE]
"""

import argparse
import json
import operator
import os
import sys
import time

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import export_model  # noqa: E402  (the architectures' constructors)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def load_gradcam():
    """(GradCAM class, where it came from)."""
    try:
        from pytorch_grad_cam import GradCAM  # noqa: WPS433
        import pytorch_grad_cam
        return GradCAM, "pytorch-grad-cam " + os.path.dirname(pytorch_grad_cam.__file__)
    except ImportError:
        sys.path.insert(0, os.path.join(ROOT, "tests", "data", "engine"))
        import make_engine_goldens  # noqa: E402
        return make_engine_goldens.GradCAM, ("re-implementation of pytorch-grad-cam 1.5 GradCAM "
                                             "(tests/data/engine/make_engine_goldens.py)")


def read_spec(bundle_path):
    extra = {"explainer.json": ""}
    bundle = torch.jit.load(bundle_path, map_location="cpu", _extra_files=extra)
    return bundle.eval(), json.loads(extra["explainer.json"])


def eager_model(bundle, arch, num_classes):
    model = export_model.ARCHITECTURES[arch][0](num_classes)
    state = {k[len("model."):]: v for k, v in bundle.state_dict().items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def image_files(input_dir):
    files = []
    for folder, _, names in os.walk(input_dir):
        files += [os.path.join(folder, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    if not files:
        raise SystemExit(f"anchors: --input-dir {input_dir}: no images")
    return sorted(files)


def prepare(path, width, height, mean, std):
    """(CHW float32, decode ms, preprocess ms), as the engine's inputs."""
    start = time.perf_counter()
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"anchors: {path}: cannot decode")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    decoded = time.perf_counter()
    resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
    mean = np.array(mean, np.float32) * 255.0
    std = np.array(std, np.float32) * 255.0
    chw = ((resized.astype(np.float32) - mean) / std).transpose(2, 0, 1)
    done = time.perf_counter()
    return np.ascontiguousarray(chw), (decoded - start) * 1e3, (done - decoded) * 1e3


def quantiles(values):
    ordered = sorted(values)

    def rank(q):
        return ordered[min(len(ordered) - 1, max(1, int(np.ceil(q * len(ordered)))) - 1)]
    return {"p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99), "max": rank(1.0)}


def time_mode(run, inputs, batch_size, batches, warmup):
    def batch(b):
        index = [(b * batch_size + i) % len(inputs) for i in range(batch_size)]
        return torch.from_numpy(np.stack([inputs[i] for i in index]))
    for b in range(warmup):
        run(batch(b))
    latencies = []
    start = time.perf_counter()
    for b in range(warmup, warmup + batches):
        x = batch(b)
        t = time.perf_counter()
        run(x)
        latencies.append((time.perf_counter() - t) * 1e3)
    seconds = time.perf_counter() - start
    images = batches * batch_size
    return {"includes_decode": False, "images": images, "seconds": seconds,
            "images_per_s": images / seconds, "batch_latency_ms": quantiles(latencies)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--input-dir", required=True)
    parser.add_argument("--arch", help="architecture when explainer.json has no 'arch'")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--warmup-batches", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--modes", default="torchscript-forward,eager-forward,pytorch-grad-cam")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    bundle, spec = read_spec(args.model)
    arch = args.arch or spec.get("arch")
    width, height = spec["input_size"]["width"], spec["input_size"]["height"]
    files = image_files(args.input_dir)
    prepared = [prepare(f, width, height, spec["mean"], spec["std"]) for f in files]
    inputs = [p[0] for p in prepared]
    report = {
        "kind": "python_anchor",
        "setup": {"model": f"{spec['name']} {spec['version']}", "arch": arch,
                  "images": f"folder {args.input_dir} ({len(files)} files)",
                  "batch_size": args.batch_size, "batches": args.batches,
                  "warmup_batches": args.warmup_batches, "threads": args.threads,
                  "torch": torch.__version__},
        "decode_preprocess": {"decode_ms_median": float(np.median([p[1] for p in prepared])),
                              "preprocess_ms_median": float(np.median([p[2] for p in prepared]))},
        "modes": {},
    }
    modes = args.modes.split(",")
    timing = (inputs, args.batch_size, args.batches, args.warmup_batches)
    if "torchscript-forward" in modes:
        def scripted(x):
            with torch.inference_mode():
                return bundle(x)
        report["modes"]["torchscript-forward"] = time_mode(scripted, *timing)
    if arch is None:
        report["note"] = "no 'arch' in explainer.json and no --arch: eager modes skipped"
    else:
        model = eager_model(bundle, arch, len(spec["class_names"]))
        if "eager-forward" in modes:
            def eager(x):
                with torch.inference_mode():
                    return model(x)
            report["modes"]["eager-forward"] = time_mode(eager, *timing)
        if "pytorch-grad-cam" in modes:
            grad_cam_class, source = load_gradcam()
            layer = operator.attrgetter(export_model.target_layer_of(arch))(model)
            cam = grad_cam_class(model=model, target_layers=[layer])
            report["gradcam_source"] = source
            report["modes"]["pytorch-grad-cam"] = time_mode(lambda x: cam(input_tensor=x, targets=None), *timing)
    for name, mode in report["modes"].items():
        lat = mode["batch_latency_ms"]
        print(f"mode {name} (inputs preprocessed beforehand): {mode['images_per_s']:.2f} images/s; batch latency ms: "
              f"p50 {lat['p50']:.1f} p90 {lat['p90']:.1f} p99 {lat['p99']:.1f} max {lat['max']:.1f}")
    if "gradcam_source" in report:
        print(f"GradCAM: {report['gradcam_source']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
