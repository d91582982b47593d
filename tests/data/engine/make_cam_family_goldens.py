#!/usr/bin/python3
"""Goldens for the CAM family and the faithfulness metrics, made by pytorch-grad-cam itself.

Reference: jacobgil/pytorch-grad-cam at commit 084273b3f30b54ad0c64cf8020a4337d979a66e0
(version 1.5.5) and qubvel/ttach at 94e579e59a21cbdfbb4f5790502e648008ecf64e (its
aug_smooth transforms), both MIT. Neither is a Debian package nor part of this project:
bring their sources into an ignored folder and point PYTHONPATH at them, e.g.

    git -C <mirror of pytorch-grad-cam> archive 084273b3f30b54ad0c64cf8020a4337d979a66e0 \
        pytorch_grad_cam | tar -x -C /tmp/pgc
    git -C <mirror of ttach> archive 94e579e59a21cbdfbb4f5790502e648008ecf64e | tar -x -C /tmp/ttach
    PYTHONPATH=/tmp/pgc:/tmp/ttach /usr/bin/python3 tests/data/engine/make_cam_family_goldens.py

Debian packages: python3-torch, python3-torchvision, python3-opencv, python3-scipy (ROAD's
imputer), python3-tqdm, python3-sklearn, python3-matplotlib (imported by pytorch_grad_cam's
package __init__); scripts/install-deps.sh installs them.

Model: tiny_deep_split.pt (make_test_bundle.py: tiny_bundle.pt's weights split one block
earlier, so that the gradient varies over the map and Grad-CAM, HiResCAM and XGradCAM
differ). Its weights go into the ORIGINAL torchvision network and pytorch-grad-cam hooks
target layer features[-2] there (= the bundle's features(x)). Inputs: the four cases of
golden/input_<i>.f32 in one batch of 4 with explicit ClassifierOutputTarget targets (the
explained classes of golden.json; pytorch-grad-cam's aug_smooth then explains that class
under every augmentation, which is what the engine does).

Writes golden/cam_family/: <method>__<variant>.f32 (float32 [4, 64, 80], the batch's
heatmaps as pytorch-grad-cam returns them) and cam_family.json (cases, options, the
faithfulness scores, versions, and per entry reference_batch1_vs_batch4: how far
pytorch-grad-cam's own heatmap of each image alone is from its heatmap in the batch; for
GradCAM++ with aug_smooth this exceeds 1e-4 on case 2, an ill-conditioned division in
its weights, so the tests allow that spread there and 1e-4 elsewhere). Variants: plain, aug (aug_smooth), eigen (eigen_smooth),
aug_eigen; eigen variants only for methods whose get_cam_image honours eigen_smooth.
"""

import json
import os
import sys

import numpy as np
import torch

import pytorch_grad_cam
from pytorch_grad_cam import (AblationCAM, EigenCAM, EigenGradCAM, GradCAM,
                              GradCAMElementWise, GradCAMPlusPlus, HiResCAM,
                              LayerCAM, ScoreCAM, XGradCAM)
from pytorch_grad_cam.metrics.cam_mult_image import CamMultImageConfidenceChange
from pytorch_grad_cam.metrics.road import (ROADCombined,
                                           ROADLeastRelevantFirstAverage,
                                           ROADMostRelevantFirstAverage)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_engine_goldens as base  # noqa: E402  (model loader, the golden cases)

BUNDLE = os.path.join(HERE, "tiny_deep_split.pt")
GOLDEN = os.path.join(HERE, "golden")
OUT = os.path.join(GOLDEN, "cam_family")
PGC_COMMIT = "084273b3f30b54ad0c64cf8020a4337d979a66e0"
TTACH_COMMIT = "94e579e59a21cbdfbb4f5790502e648008ecf64e"

# name on the wire -> (pytorch-grad-cam class, honours eigen_smooth)
METHODS = {
    "grad-cam": (GradCAM, True),
    "hires-cam": (HiResCAM, True),
    "grad-cam++": (GradCAMPlusPlus, True),
    "xgrad-cam": (XGradCAM, True),
    "layer-cam": (LayerCAM, True),
    "eigen-cam": (EigenCAM, False),
    "eigen-grad-cam": (EigenGradCAM, False),
    "grad-cam-elementwise": (GradCAMElementWise, True),
    "score-cam": (ScoreCAM, True),
    "ablation-cam": (AblationCAM, True),
}
SCORE_CAM_BATCH = 16     # pytorch-grad-cam's default (no batch_size attribute set)
ABLATION_CAM_BATCH = 32  # AblationCAM's default batch_size
ABLATION_CAM_SMALL_BATCH = 5  # its ablated value depends on the position in a batch
ROAD_PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]  # ROADCombined's default
ROAD_SEED = 0
FAITHFULNESS_METHODS = ["grad-cam", "score-cam"]


def file_name(method, variant):
    return method.replace("+", "p") + "__" + variant + ".f32"


def make_cam(method, model, ablation_batch=ABLATION_CAM_BATCH):
    cls = METHODS[method][0]
    layers = [model.features[-2]]
    if cls is AblationCAM:
        return cls(model=model, target_layers=layers, batch_size=ablation_batch)
    cam = cls(model=model, target_layers=layers)
    if cls is ScoreCAM:
        cam.batch_size = SCORE_CAM_BATCH
    return cam


def road_scores(x, cam, target, model, percentiles):
    """ROADCombined's two averages and their combination for one image, the noise of
    its imputer drawn from torch's default generator seeded with ROAD_SEED (the engine
    seeds a generator per item the same way)."""
    targets = [ClassifierOutputTarget(target)]
    torch.manual_seed(ROAD_SEED)
    lerf = ROADLeastRelevantFirstAverage(percentiles)(x, cam, targets, model)
    morf = ROADMostRelevantFirstAverage(percentiles)(x, cam, targets, model)
    torch.manual_seed(ROAD_SEED)
    combined = ROADCombined(percentiles)(x, cam, targets, model)
    assert np.array_equal(combined, (lerf - morf) / 2), (combined, lerf, morf)
    return float(morf[0]), float(lerf[0]), float(combined[0])


def main():
    torch.set_num_threads(1)
    with open(os.path.join(GOLDEN, "golden.json")) as f:
        golden = json.load(f)
    extra = {"explainer.json": ""}
    torch.jit.load(BUNDLE, map_location="cpu", _extra_files=extra)
    spec = json.loads(extra["explainer.json"])
    base.BUNDLE = BUNDLE  # load_original_model reads the weights from base.BUNDLE
    model = base.load_original_model(spec)
    shape = golden["input_shape"]
    inputs = [np.fromfile(os.path.join(GOLDEN, c["input"]), dtype="<f4").reshape(shape)
              for c in golden["cases"]]
    batch = torch.from_numpy(np.stack(inputs))
    explained = [c["explained_index"] for c in golden["cases"]]
    targets = [ClassifierOutputTarget(c) for c in explained]

    os.makedirs(OUT, exist_ok=True)
    entries = []
    cams_of = {}
    for method, (_, eigen_ok) in METHODS.items():
        variants = [("plain", False, False), ("aug", True, False)]
        if eigen_ok:
            variants += [("eigen", False, True), ("aug_eigen", True, True)]
        for variant, aug, eigen in variants:
            cam = make_cam(method, model)
            heatmaps = cam(input_tensor=batch, targets=targets, aug_smooth=aug,
                           eigen_smooth=eigen)
            cam.activations_and_grads.release()
            assert heatmaps.shape == (len(inputs), shape[1], shape[2])
            assert heatmaps.dtype == np.float32
            # A flat or empty golden would test little.
            for i, h in enumerate(heatmaps):
                assert h.max() > 0.3 and h.std() > 0.03, (method, variant, i, h.max(), h.std())
            # The reference's own spread: each image alone (batch 1) against the batch.
            spread = 0.0
            for i in range(len(inputs)):
                one = make_cam(method, model)
                alone = one(input_tensor=batch[i:i + 1], targets=targets[i:i + 1],
                            aug_smooth=aug, eigen_smooth=eigen)
                one.activations_and_grads.release()
                spread = max(spread, float(np.abs(alone[0] - heatmaps[i]).max()))
            name = file_name(method, variant)
            heatmaps.astype("<f4").tofile(os.path.join(OUT, name))
            cams_of[(method, variant)] = heatmaps
            entries.append({"method": method, "variant": variant, "aug_smooth": aug,
                            "eigen_smooth": eigen, "file": name,
                            "reference_batch1_vs_batch4": spread})
            print(f"{method:22s} {variant:9s} mean {heatmaps.mean():.4f} "
                  f"reference batch 1 vs 4: {spread:.2e}")

    # AblationCAM with a smaller batch: pytorch-grad-cam's ablation value
    # (min - 1e7 per earlier row of the batch) makes the map depend on it.
    cam = make_cam("ablation-cam", model, ablation_batch=ABLATION_CAM_SMALL_BATCH)
    small = cam(input_tensor=batch, targets=targets)
    cam.activations_and_grads.release()
    name = file_name("ablation-cam", f"batch{ABLATION_CAM_SMALL_BATCH}")
    small.astype("<f4").tofile(os.path.join(OUT, name))
    entries.append({"method": "ablation-cam", "variant": f"batch{ABLATION_CAM_SMALL_BATCH}",
                    "aug_smooth": False, "eigen_smooth": False, "file": name,
                    "ablation_cam_batch_size": ABLATION_CAM_SMALL_BATCH})
    print("ablation-cam batch 5 vs 32: max diff",
          float(np.abs(small - cams_of[("ablation-cam", "plain")]).max()))

    # Faithfulness of the plain heatmaps: CAM-multiply confidence change (batch) and ROAD
    # (per image, seeded), for the default percentiles and a custom list. The heatmaps are
    # pytorch-grad-cam's (the tests score the same maps): ROAD moves with any change of
    # the map, since its thresholds, and the noise it draws pixel by pixel, do.
    faithfulness = []
    for method in FAITHFULNESS_METHODS:
        cams = cams_of[(method, "plain")]
        change = CamMultImageConfidenceChange()(batch, cams, targets, model)
        for i in range(len(inputs)):
            record = {"method": method, "case": i, "cam_multiply_change": float(change[i]),
                      "road": []}
            for percentiles in (ROAD_PERCENTILES, [25, 75]):
                morf, lerf, combined = road_scores(batch[i:i + 1], cams[i:i + 1], explained[i],
                                                   model, percentiles)
                record["road"].append({"percentiles": percentiles, "morf": morf, "lerf": lerf,
                                       "combined": combined})
            faithfulness.append(record)
            print(method, i, record["cam_multiply_change"], record["road"][0])

    out = {
        "made_by": "tests/data/engine/make_cam_family_goldens.py",
        "reference": {
            "pytorch_grad_cam": {"repository": "jacobgil/pytorch-grad-cam", "commit": PGC_COMMIT,
                                 "path": os.path.dirname(pytorch_grad_cam.__file__)},
            "ttach": {"repository": "qubvel/ttach", "commit": TTACH_COMMIT},
        },
        "golden": "golden.json (inputs and explained classes)",
        "bundle": "tiny_deep_split.pt",
        "target_layer": "features[-2] of the torchvision model (the bundle's features(x))",
        "batch": len(inputs),
        "cam_shape": [len(inputs), shape[1], shape[2]],
        "score_cam_batch_size": SCORE_CAM_BATCH,
        "ablation_cam_batch_size": ABLATION_CAM_BATCH,
        "road_seed": ROAD_SEED,
        "entries": entries,
        "faithfulness": faithfulness,
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
    }
    with open(os.path.join(OUT, "cam_family.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
