#!/usr/bin/python3
"""Computes the engine's golden probabilities and Grad-CAM heatmaps for tiny_bundle.pt.

Rerun (from the repository root, after make_test_bundle.py):
    /usr/bin/python3 tests/data/engine/make_engine_goldens.py

Independent of the C++ engine and of the bundle's features/head split: the bundle's
weights are loaded into the ORIGINAL torchvision network (tiny_efficientnet from
tools/export_model.py's registry, strict state-dict load), and Grad-CAM is a faithful
re-implementation of pytorch-grad-cam 1.5 `GradCAM(model, target_layers=[model.features[-1]])`
called as `cam(input_tensor=batch, targets=[ClassifierOutputTarget(c) or None ...])`:
forward hook on the target layer + tensor hook for its gradient, loss = sum of the
selected logits over the batch, backward through the whole network, weights = mean of
the gradients over (2, 3), cam = max(sum_k w_k A_k, 0), scale_cam_image with cv2.resize
to (width, height), then aggregate_multi_layers (ReLU, mean over layers, scale).
Probabilities are torch.softmax of the full model's logits.

Writes golden/: input_<i>.f32 (float32 little-endian, CHW 3x64x80, already normalised),
cam_<i>.f32 (float32, 64x80 row-major) and golden.json (cases, probabilities, logits,
predicted and explained classes, versions used).
"""

import json
import os
import sys

import cv2
import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import export_model  # noqa: E402  (only for the architecture's constructor)

BUNDLE = os.path.join(HERE, "tiny_bundle.pt")
OUT = os.path.join(HERE, "golden")


# ---- pytorch-grad-cam 1.5, the parts GradCAM uses (utils/image.py, base_cam.py) ----

def scale_cam_image(cam, target_size=None):
    result = []
    for img in cam:
        img = img - np.min(img)
        img = img / (1e-7 + np.max(img))
        if target_size is not None:
            img = cv2.resize(img, target_size)
        result.append(img)
    return np.float32(result)


class ClassifierOutputTarget:
    def __init__(self, category):
        self.category = category

    def __call__(self, model_output):
        if len(model_output.shape) == 1:
            return model_output[self.category]
        return model_output[:, self.category]


class ActivationsAndGradients:
    def __init__(self, model, target_layers):
        self.model = model
        self.gradients, self.activations, self.handles = [], [], []
        for layer in target_layers:
            self.handles.append(layer.register_forward_hook(self.save_activation))
            self.handles.append(layer.register_forward_hook(self.save_gradient))

    def save_activation(self, module, input, output):
        self.activations.append(output.cpu().detach())

    def save_gradient(self, module, input, output):
        if not hasattr(output, "requires_grad") or not output.requires_grad:
            return

        def _store_grad(grad):
            self.gradients = [grad.cpu().detach()] + self.gradients

        output.register_hook(_store_grad)

    def __call__(self, x):
        self.gradients, self.activations = [], []
        return self.model(x)

    def release(self):
        for handle in self.handles:
            handle.remove()


class GradCAM:
    def __init__(self, model, target_layers):
        self.model = model.eval()
        self.target_layers = target_layers
        self.activations_and_grads = ActivationsAndGradients(model, target_layers)

    def get_cam_image(self, activations, grads):
        weights = np.mean(grads, axis=(2, 3))
        weighted_activations = weights[:, :, None, None] * activations
        return weighted_activations.sum(axis=1)

    def __call__(self, input_tensor, targets=None):
        outputs = self.activations_and_grads(input_tensor)
        if targets is None:
            target_categories = np.argmax(outputs.cpu().data.numpy(), axis=-1)
            targets = [ClassifierOutputTarget(c) for c in target_categories]
        self.model.zero_grad()
        loss = sum([target(output) for target, output in zip(targets, outputs)])
        loss.backward(retain_graph=True)
        activations = [a.cpu().data.numpy() for a in self.activations_and_grads.activations]
        grads = [g.cpu().data.numpy() for g in self.activations_and_grads.gradients]
        target_size = (input_tensor.size(-1), input_tensor.size(-2))  # (width, height)
        per_layer = []
        for layer_activations, layer_grads in zip(activations, grads):
            cam = self.get_cam_image(layer_activations, layer_grads)
            cam = np.maximum(cam, 0)
            per_layer.append(scale_cam_image(cam, target_size)[:, None, :])
        cams = np.concatenate(per_layer, axis=1)
        cams = np.maximum(cams, 0)
        result = np.mean(cams, axis=1)
        return scale_cam_image(result), outputs


# ---- inputs and the model ----

def synthetic_image(rng, height, width):
    """A radiograph-ish uint8 RGB image: a vertical gradient, a bright bone-like bar,
    one or two blobs and noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = 40.0 + 60.0 * y / height
    bar_x = rng.uniform(0.3, 0.7) * width
    img += 90.0 * np.exp(-((x - bar_x) / (0.08 * width)) ** 2)
    for _ in range(rng.integers(1, 3)):
        cy, cx = rng.uniform(0.15, 0.85) * height, rng.uniform(0.15, 0.85) * width
        r = rng.uniform(0.06, 0.14) * min(height, width) * 2
        img += rng.uniform(60, 120) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    img = img[..., None] * np.array([1.0, 0.97, 0.93], np.float32)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def normalise(img, mean, std):
    """albumentations Normalize (max_pixel_value 255), HWC uint8 -> CHW float32."""
    mean = np.array(mean, np.float32) * 255.0
    std = np.array(std, np.float32) * 255.0
    out = (img.astype(np.float32) - mean) * np.reciprocal(std, dtype=np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)


def load_original_model(spec):
    bundle = torch.jit.load(BUNDLE, map_location="cpu")
    arch = spec["arch"]
    model = export_model.ARCHITECTURES[arch][0](len(spec["class_names"]))
    state = {k[len("model."):]: v for k, v in bundle.state_dict().items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def main():
    torch.set_num_threads(1)
    extra = {"explainer.json": ""}
    torch.jit.load(BUNDLE, map_location="cpu", _extra_files=extra)
    spec = json.loads(extra["explainer.json"])
    height, width = spec["input_size"]["height"], spec["input_size"]["width"]
    model = load_original_model(spec)

    # Four looks (plain, inverted, dim, pure noise), so that the random network does not
    # predict the same class for every case.
    rng = np.random.default_rng(1)
    images = [synthetic_image(rng, height, width) for _ in range(3)]
    images[1] = 255 - images[1]
    images[2] = (images[2] * 0.3).astype(np.uint8)
    images.append(rng.integers(0, 256, (height, width, 3)).astype(np.uint8))
    inputs = [normalise(img, spec["mean"], spec["std"]) for img in images]
    batch = torch.from_numpy(np.stack(inputs))
    with torch.no_grad():
        logits = model(batch)
    predicted = logits.argmax(dim=1).tolist()
    # Case 2 asks for a class the model did not predict.
    requested = [None, None, (predicted[2] + 1) % len(spec["class_names"]), None]
    explained = [p if r is None else r for p, r in zip(predicted, requested)]
    assert len({p for p, r in zip(predicted, requested) if r is None}) > 1, predicted

    cam_maker = GradCAM(model, target_layers=[model.features[-1]])
    cams, outputs = cam_maker(batch, targets=[ClassifierOutputTarget(c) for c in explained])
    cam_maker.activations_and_grads.release()
    probabilities = torch.softmax(outputs.detach(), dim=1)
    assert torch.equal(outputs.detach(), logits), "hooked forward differs from plain forward"

    os.makedirs(OUT, exist_ok=True)
    cases = []
    for i, (x, cam) in enumerate(zip(inputs, cams)):
        assert cam.shape == (height, width) and cam.dtype == np.float32
        # A golden that could be all zeros or flat would not test much.
        assert cam.max() > 0.99 and (cam > 0.05).mean() > 0.1 and (cam < 0.5).mean() > 0.1, i
        x.astype("<f4").tofile(os.path.join(OUT, f"input_{i}.f32"))
        cam.astype("<f4").tofile(os.path.join(OUT, f"cam_{i}.f32"))
        cases.append({
            "input": f"input_{i}.f32",
            "cam": f"cam_{i}.f32",
            "target_class": requested[i],
            "predicted_index": predicted[i],
            "explained_index": explained[i],
            "probabilities": [float(p) for p in probabilities[i]],
            "logits": [float(v) for v in logits[i]],
        })
        print(f"case {i}: predicted {predicted[i]} explained {explained[i]} "
              f"probs {[round(float(p), 4) for p in probabilities[i]]} cam mean {cam.mean():.3f}")
    golden = {
        "bundle": "tiny_bundle.pt",
        "input_shape": [3, height, width],
        "cam_shape": [height, width],
        "made_by": "tests/data/engine/make_engine_goldens.py",
        "method": "pytorch-grad-cam 1.5 GradCAM semantics, target layer features[-1] of the "
                  "torchvision model, one batch of all cases",
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "numpy": np.__version__, "opencv": cv2.__version__},
        "cases": cases,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
