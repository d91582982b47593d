#!/usr/bin/python3
"""Makes the engine's committed test bundles in this folder.

Rerun (from the repository root, Debian's python3 with torch 1.13 / torchvision 0.14):
    /usr/bin/python3 tests/data/engine/make_test_bundle.py
    /usr/bin/python3 tests/data/engine/make_engine_goldens.py   # goldens depend on the bundle

  tiny_bundle.pt           a good bundle, made through tools/export_model.py's API:
                           tiny_efficientnet (torchvision EfficientNet blocks, ~18k
                           parameters, seed 7, BatchNorm calibrated), classes
                           Normal/Benign/Malignant, input 64x80 (height x width; not
                           square, so a height/width mix-up shows)
  tiny_deep_split.pt       the same network and weights split one block earlier:
                           features(x) = features[:-1] (the last MBConv block, 32
                           channels at 8x10), head(A) = features[-1] (1x1 conv, BN, SiLU)
                           + pool + classifier. Its gradient varies over the map, so
                           Grad-CAM, HiResCAM and XGradCAM differ (with pool + linear
                           alone they coincide); the CAM family goldens use it
  bad_*.pt / bad_*.pth     bundles that break one rule each, written with torch.jit.save
                           directly (export_bundle refuses them), on a micro network:
    bad_not_torchscript.pt   plain text
    bad_checkpoint.pth       a torch.save'd training checkpoint, not TorchScript
    bad_missing_head.pt      no head() method
    bad_no_spec.pt           no explainer.json extra file
    bad_spec_field.pt        explainer.json without "mean"
    bad_class_count.pt       3 logits, 2 class_names
    bad_head_mismatch.pt     head(features(x)) != forward(x)
    bad_features_3d.pt       features(x) is [N, K, h*w]
"""

import json
import os
import sys

# TorchScript writes some class attributes in set order: fix the hash seed so that a
# rerun gives byte-identical files.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import export_model  # noqa: E402

CLASSES = ["Normal", "Benign", "Malignant"]
INPUT_SIZE = (64, 80)  # height, width
SEED = 7
MICRO_SIZE = 16


class Micro(nn.Module):
    """A few hundred parameters obeying (or, in subclasses, breaking) the contract."""

    def __init__(self, classes: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, classes)

    def forward(self, x):
        return self.head(self.features(x))

    @torch.jit.export
    def features(self, x):
        return torch.relu(self.conv(x))

    @torch.jit.export
    def head(self, a):
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(a, 1), 1))


class NoHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))

    @torch.jit.export
    def features(self, x):
        return torch.relu(self.conv(x))


class HeadMismatch(Micro):
    def forward(self, x):
        return self.head(self.features(x)) + 1.0


class Features3d(Micro):
    def forward(self, x):
        return self.head(self.features(x))

    @torch.jit.export
    def features(self, x):
        return torch.flatten(torch.relu(self.conv(x)), 2)

    @torch.jit.export
    def head(self, a):
        return self.fc(a.mean(dim=2))


class DeepSplitBundle(nn.Module):
    """tiny_efficientnet cut before its last 1x1 convolution block."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)

    @torch.jit.export
    def features(self, x):
        for i, block in enumerate(self.model.features):
            if i + 1 < len(self.model.features):
                x = block(x)
        return x

    @torch.jit.export
    def head(self, a):
        for i, block in enumerate(self.model.features):
            if i + 1 == len(self.model.features):
                a = block(a)
        a = torch.nn.functional.adaptive_avg_pool2d(a, 1)
        return self.model.classifier(torch.flatten(a, 1))


def micro_spec(**changes):
    spec = {"bundle_format": 1, "name": "micro", "version": "1", "class_names": CLASSES,
            "input_size": {"height": MICRO_SIZE, "width": MICRO_SIZE},
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "target_layer": "conv"}
    spec.update(changes)
    return {k: v for k, v in spec.items() if v is not None}


def save_micro(name, make_module, spec):
    torch.manual_seed(0)  # before construction: the weights are reproducible
    module = make_module().eval()
    extra = {"explainer.json": json.dumps(spec)} if spec is not None else {}
    torch.jit.save(torch.jit.script(module), os.path.join(HERE, name), _extra_files=extra)


def main():
    model = export_model.build_random_torchvision("tiny_efficientnet", len(CLASSES),
                                                  input_size=INPUT_SIZE, seed=SEED)
    export_model.export_bundle(
        export_model.wrap_torchvision("tiny_efficientnet", model), class_names=CLASSES,
        input_size=INPUT_SIZE, mean=export_model.IMAGENET_MEAN, std=export_model.IMAGENET_STD,
        name="tiny_efficientnet-test", version="1", target_layer="features",
        path=os.path.join(HERE, "tiny_bundle.pt"),
        extra={"arch": "tiny_efficientnet", "source": f"random-init seed {SEED}"})

    export_model.export_bundle(
        DeepSplitBundle(model).eval(), class_names=CLASSES, input_size=INPUT_SIZE,
        mean=export_model.IMAGENET_MEAN, std=export_model.IMAGENET_STD,
        name="tiny_efficientnet-deep-split", version="1",
        target_layer=f"features.{len(model.features) - 2}",
        path=os.path.join(HERE, "tiny_deep_split.pt"),
        extra={"arch": "tiny_efficientnet", "source": f"random-init seed {SEED}",
               "split": "features[:-1] | features[-1] + pool + classifier"})

    with open(os.path.join(HERE, "bad_not_torchscript.pt"), "w") as f:
        f.write("this is a text file, not a TorchScript archive\n")
    torch.manual_seed(0)
    torch.save({"model_state_dict": Micro().state_dict(), "class_names": CLASSES},
               os.path.join(HERE, "bad_checkpoint.pth"))
    save_micro("bad_missing_head.pt", NoHead, micro_spec())
    save_micro("bad_no_spec.pt", Micro, None)
    save_micro("bad_spec_field.pt", Micro, micro_spec(mean=None))
    save_micro("bad_class_count.pt", Micro, micro_spec(class_names=["Normal", "Malignant"]))
    save_micro("bad_head_mismatch.pt", HeadMismatch, micro_spec())
    save_micro("bad_features_3d.pt", Features3d, micro_spec())
    for name in sorted(os.listdir(HERE)):
        if name.endswith((".pt", ".pth")):
            print(f"{name}: {os.path.getsize(os.path.join(HERE, name))} bytes")


if __name__ == "__main__":
    main()
