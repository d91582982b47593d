#!/usr/bin/python3
"""Golden wire results of explainer-server on the engine's tiny test bundle.

Rerun (from the repository root, Debian's python3 with torch 1.13 / OpenCV / PIL), after
tests/data/engine/make_test_bundle.py:
    /usr/bin/python3 tests/server/data/make_server_goldens.py

Independent of the C++ code: everything a server request goes through is recomputed
here with the Python tools the training pipeline used:
  decode       cv2.imread (BGR -> RGB)
  preprocess   cv2.resize INTER_LINEAR to the bundle's input size, albumentations-style
               Normalize (tests/data/engine/make_engine_goldens.py's normalise)
  model        the ORIGINAL torchvision network with the bundle's weights, Grad-CAM as
               pytorch-grad-cam 1.5 (make_engine_goldens.py's GradCAM), batch of one
  heatmap_png  np.uint8(255 * cam)
  overlay      pytorch-grad-cam show_cam_on_image(rgb / 255, cv2.resize(cam, (W, H)),
               use_rgb=True, colormap=cv2.COLORMAP_JET, image_weight)
  mask         labelme shape_to_mask (PIL ImageDraw, outline=1 fill=1), union,
               cv2.resize INTER_NEAREST to the input size
  report       IoU of (cam >= t) with the mask, pointing game (argmax), energy inside,
               mask area fraction

Writes tests/server/data/: case_<i>.png (request image), case_<i>.json (LabelMe),
case_<i>_cam.f32 (float32 row-major), case_<i>_overlay.png and golden.json.
"""

import json
import os
import sys

import cv2
import numpy as np
import PIL.Image
import PIL.ImageDraw
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "data", "engine"))
import make_engine_goldens as eg  # noqa: E402  (GradCAM, model loading, normalise)

# C++ and Python CAMs agree to about 1e-5 (engine tests): a pixel this close to a
# threshold may land on either side, so the IoU golden carries a tolerance that
# allows each such pixel to flip.
THRESHOLD_MARGIN = 1e-4


def show_cam_on_image(img, mask, image_weight):
    """pytorch-grad-cam 1.5 utils/image.py, use_rgb=True, COLORMAP_JET."""
    heatmap = cv2.applyColorMap(np.uint8(255 * mask), cv2.COLORMAP_JET)
    heatmap = cv2.cvtColor(heatmap, cv2.COLOR_BGR2RGB)
    heatmap = np.float32(heatmap) / 255
    cam = (1 - image_weight) * heatmap + image_weight * img
    cam = cam / np.max(cam)
    return np.uint8(255 * cam)


def shape_to_mask(shape_hw, points, shape_type):
    """labelme.utils.shape_to_mask for the two shape types BTXRD uses."""
    mask = PIL.Image.fromarray(np.zeros(shape_hw, dtype=np.uint8))
    draw = PIL.ImageDraw.Draw(mask)
    xy = [tuple(p) for p in points]
    if shape_type == "rectangle":
        draw.rectangle(xy, outline=1, fill=1)
    elif shape_type == "polygon":
        draw.polygon(xy=xy, outline=1, fill=1)
    else:
        raise ValueError(shape_type)
    return np.array(mask, dtype=bool)


def labelme(width, height, shapes):
    return {
        "version": "5.2.1", "flags": {}, "imagePath": "case.png", "imageData": None,
        "imageHeight": height, "imageWidth": width,
        "shapes": [{"label": label, "points": points, "group_id": None, "description": "",
                    "shape_type": shape_type, "flags": {}}
                   for label, shape_type, points in shapes],
    }


def main():
    torch.set_num_threads(1)
    extra = {"explainer.json": ""}
    torch.jit.load(eg.BUNDLE, map_location="cpu", _extra_files=extra)
    spec = json.loads(extra["explainer.json"])
    in_h, in_w = spec["input_size"]["height"], spec["input_size"]["width"]
    model = eg.load_original_model(spec)

    rng = np.random.default_rng(11)
    # (image height, width, options, annotation shapes)
    cases = [
        (97, 123, {"overlay_image_weight": None, "iou_thresholds": None, "target": None},
         [("tumor", "rectangle", [[20.0, 15.0], [70.0, 60.0]]),
          ("tumor", "polygon", [[80.0, 20.0], [110.0, 30.0], [100.0, 80.0], [75.0, 60.0]])]),
        (in_h, in_w, {"overlay_image_weight": 0.3, "iou_thresholds": [0.2, 0.6],
                      "target": "other"},
         [("tumor", "polygon", [[10.0, 8.0], [50.0, 12.0], [44.0, 50.0], [12.0, 40.0]])]),
    ]
    golden_cases = []
    for i, (height, width, options, shapes) in enumerate(cases):
        rgb = eg.synthetic_image(rng, height, width)
        if i == 1:
            rgb = 255 - rgb
        image_path = os.path.join(HERE, f"case_{i}.png")
        cv2.imwrite(image_path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        annotation = labelme(width, height, shapes)
        with open(os.path.join(HERE, f"case_{i}.json"), "w") as f:
            json.dump(annotation, f, indent=1)
            f.write("\n")

        decoded = cv2.cvtColor(cv2.imread(image_path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert np.array_equal(decoded, rgb)
        resized = cv2.resize(decoded, (in_w, in_h), interpolation=cv2.INTER_LINEAR)
        x = torch.from_numpy(eg.normalise(resized, spec["mean"], spec["std"]))[None]
        with torch.no_grad():
            logits = model(x)
        predicted = int(logits.argmax(dim=1)[0])
        target = None if options["target"] is None else (predicted + 1) % 3
        explained = predicted if target is None else target
        cam_maker = eg.GradCAM(model, target_layers=[model.features[-1]])
        cams, outputs = cam_maker(x, targets=[eg.ClassifierOutputTarget(explained)])
        cam_maker.activations_and_grads.release()
        cam = cams[0]
        probabilities = torch.softmax(outputs.detach(), dim=1)[0]

        weight = 0.5 if options["overlay_image_weight"] is None else options["overlay_image_weight"]
        overlay = show_cam_on_image(np.float32(decoded) / 255,
                                    cv2.resize(cam, (width, height)), weight)
        cv2.imwrite(os.path.join(HERE, f"case_{i}_overlay.png"),
                    cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
        cam.astype("<f4").tofile(os.path.join(HERE, f"case_{i}_cam.f32"))

        mask = np.zeros((height, width), dtype=bool)
        for _, shape_type, points in shapes:
            mask |= shape_to_mask((height, width), points, shape_type)
        small = cv2.resize(mask.astype(np.uint8), (in_w, in_h),
                           interpolation=cv2.INTER_NEAREST).astype(bool)
        thresholds = options["iou_thresholds"] or [0.3, 0.5, 0.7]
        ious, tolerances = [], []
        for t in thresholds:
            hot = cam >= np.float32(t)
            union = int(np.logical_or(hot, small).sum())
            ious.append(float(np.logical_and(hot, small).sum() / union) if union else 0.0)
            near = int((np.abs(cam - np.float32(t)) < THRESHOLD_MARGIN).sum())
            tolerances.append(near / max(union - near, 1) + 1e-6)
        flat = int(np.argmax(cam))
        golden_cases.append({
            "image": f"case_{i}.png",
            "annotation": f"case_{i}.json",
            "cam": f"case_{i}_cam.f32",
            "overlay": f"case_{i}_overlay.png",
            "original_width": width,
            "original_height": height,
            "target_class": target,
            "overlay_image_weight": options["overlay_image_weight"],
            "iou_thresholds": options["iou_thresholds"],
            "predicted_index": predicted,
            "explained_index": explained,
            "probabilities": [float(p) for p in probabilities],
            "report": {
                "thresholds": thresholds,
                "iou": ious,
                "iou_tolerance": tolerances,
                "pointing_game_hit": bool(small.flat[flat]),
                "energy_inside": float((cam * small).sum() / cam.sum()),
                "mask_area_fraction": float(small.mean()),
                "shape_count": len(shapes),
            },
        })
        print(f"case {i}: {width}x{height} predicted {predicted} explained {explained} "
              f"probs {[round(float(p), 4) for p in probabilities]} iou {ious}")
    golden = {
        "bundle": "tests/data/engine/tiny_bundle.pt",
        "input_width": in_w,
        "input_height": in_h,
        "made_by": "tests/server/data/make_server_goldens.py",
        "versions": {"torch": torch.__version__, "numpy": np.__version__,
                     "opencv": cv2.__version__, "pillow": PIL.__version__},
        "cases": golden_cases,
    }
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
