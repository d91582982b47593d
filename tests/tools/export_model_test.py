#!/usr/bin/python3
"""Tests of tools/export_model.py: the timm efficientnet_b0 mapping round trip, the
contract checks, and the errors of bad checkpoints and bad command lines.

Run from the repository root:  /usr/bin/python3 -m unittest discover -s tests/tools -p '*_test.py'
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch
from torch import nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(ROOT, "tools", "export_model.py")
ENGINE_DATA = os.path.join(ROOT, "tests", "data", "engine")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import export_model as em  # noqa: E402

CLASSES = ["Normal", "Benign", "Malignant"]


def run_tool(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True, timeout=300)


def timm_checkpoint(model, **overrides):
    """A training checkpoint as the training code writes it, from a torchvision model."""
    timm_sd = em.torchvision_to_timm_state_dict(model.state_dict())
    ckpt = {
        "model_state_dict": {"model." + k: v for k, v in timm_sd.items()},
        "config": {"model_name": "efficientnet_b0", "image_size": 96, "batch_size": 16},
        "class_names": CLASSES,
        "normalization": {"mean": [0.5, 0.45, 0.4], "std": [0.25, 0.24, 0.23]},
        "epoch": 12,
    }
    ckpt.update(overrides)
    return ckpt


class TimmMappingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = em.build_random_torchvision("efficientnet_b0", 3, input_size=(96, 96), seed=11)
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_rules_name_timm_layers(self):
        self.assertEqual(em.timm_key_to_torchvision("conv_stem.weight", 8, False), "features.0.0.weight")
        self.assertEqual(em.timm_key_to_torchvision("bn1.running_var", 8, False), "features.0.1.running_var")
        self.assertEqual(em.timm_key_to_torchvision("blocks.0.0.conv_dw.weight", 8, False),
                         "features.1.0.block.0.0.weight")
        self.assertEqual(em.timm_key_to_torchvision("blocks.0.0.se.conv_expand.bias", 8, False),
                         "features.1.0.block.1.fc2.bias")
        self.assertEqual(em.timm_key_to_torchvision("blocks.5.3.conv_pwl.weight", 8, True),
                         "features.6.3.block.3.0.weight")
        self.assertEqual(em.timm_key_to_torchvision("blocks.2.1.bn2.weight", 8, True),
                         "features.3.1.block.1.1.weight")
        self.assertEqual(em.timm_key_to_torchvision("bn2.bias", 8, False), "features.8.1.bias")
        self.assertEqual(em.timm_key_to_torchvision("classifier.weight", 8, False), "classifier.1.weight")
        self.assertIsNone(em.timm_key_to_torchvision("blocks.0.0.conv_xx.weight", 8, False))

    def test_every_key_maps_once_both_ways(self):
        tv_sd = self.model.state_dict()
        timm_sd = em.torchvision_to_timm_state_dict(tv_sd)
        self.assertEqual(len(timm_sd), len(tv_sd))
        back = em.timm_to_torchvision_state_dict(timm_sd, tv_sd)
        self.assertEqual(set(back), set(tv_sd))
        for key, value in back.items():
            self.assertTrue(torch.equal(value, tv_sd[key]), key)

    def test_checkpoint_round_trip_reproduces_the_logits(self):
        ckpt_path = os.path.join(self.tmp.name, "train.pth")
        bundle_path = os.path.join(self.tmp.name, "bundle.pt")
        torch.save(timm_checkpoint(self.model), ckpt_path)
        result = run_tool("--checkpoint", ckpt_path, "--out", bundle_path, "--backend", "torchvision")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("wrote", result.stdout)
        spec = em.verify_bundle(bundle_path)
        self.assertEqual(spec["class_names"], CLASSES)
        self.assertEqual(spec["input_size"], {"height": 96, "width": 96})
        self.assertEqual(spec["mean"], [0.5, 0.45, 0.4])
        self.assertEqual(spec["std"], [0.25, 0.24, 0.23])
        self.assertEqual(spec["name"], "efficientnet_b0")
        self.assertEqual(spec["version"], "epoch-12")
        bundle = torch.jit.load(bundle_path)
        x = torch.randn(3, 3, 96, 96, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            expected = self.model(x)
            self.assertLessEqual((bundle(x) - expected).abs().max().item(), 1e-5)
            self.assertLessEqual((bundle.head(bundle.features(x)) - expected).abs().max().item(), 1e-4)
            self.assertTrue(torch.equal(bundle.features(x), self.model.features(x)))

    def test_unmapped_and_misshapen_weights_are_named(self):
        tv_sd = self.model.state_dict()
        timm_sd = em.torchvision_to_timm_state_dict(tv_sd)
        extra = dict(timm_sd, **{"blocks.0.0.conv_extra.weight": torch.zeros(1)})
        with self.assertRaisesRegex(em.ExportError, r"no mapping rule: \['blocks.0.0.conv_extra.weight'\]"):
            em.timm_to_torchvision_state_dict(extra, tv_sd)
        wrong = dict(timm_sd, **{"conv_head.weight": torch.zeros(10, 320, 1, 1)})
        with self.assertRaisesRegex(em.ExportError, r"shape mismatches: \['conv_head.weight \[10, 320, 1, 1\]"):
            em.timm_to_torchvision_state_dict(wrong, tv_sd)
        missing = {k: v for k, v in timm_sd.items() if k != "blocks.3.2.conv_pwl.weight"}
        with self.assertRaisesRegex(em.ExportError, r"get no value: \['features.4.2.block.3.0.weight'\]"):
            em.timm_to_torchvision_state_dict(missing, tv_sd)


class CheckpointErrorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        torch.manual_seed(0)
        cls.model = em.ARCHITECTURES["efficientnet_b0"][0](3).eval()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def save(self, obj, name="ckpt.pth"):
        path = os.path.join(self.tmp.name, name)
        torch.save(obj, path)
        return path

    def assertLoadFails(self, path, pattern, **kwargs):
        with self.assertRaisesRegex(em.ExportError, pattern):
            em.load_checkpoint_model(path, backend="torchvision", **kwargs)

    def test_file_problems(self):
        self.assertLoadFails(os.path.join(self.tmp.name, "absent.pth"), r"absent.pth: no such file")
        text = os.path.join(self.tmp.name, "text.pth")
        with open(text, "w") as f:
            f.write("not a checkpoint")
        self.assertLoadFails(text, r"text.pth: not a torch.save file")
        self.assertLoadFails(self.save(torch.zeros(2), "tensor.pth"), r"expected a dict .* got a Tensor")
        self.assertLoadFails(self.save({"weights": {}, "config": {}}, "keys.pth"),
                             r"no 'model_state_dict' \(keys present: \['config', 'weights'\]\)")

    def test_metadata_problems(self):
        good = timm_checkpoint(self.model)
        self.assertLoadFails(self.save(dict(good, class_names=[])), r"'class_names' must be a non-empty list")
        self.assertLoadFails(self.save(dict(good, class_names=["A", "B"])),
                             r"classifier has 3 outputs but class_names has 2")
        no_norm = {k: v for k, v in good.items() if k != "normalization"}
        self.assertLoadFails(self.save(no_norm), r"no 'normalization' \{mean, std\}; pass --mean and --std")
        self.assertLoadFails(self.save(dict(good, normalization={"mean": [0.5], "std": [1, 1, 1]})),
                             r"normalization mean must be 3 numbers")
        self.assertLoadFails(self.save(dict(good, config={"lr": 0.1})),
                             r"no image size in config .*; pass --input-size")
        self.assertLoadFails(self.save(dict(good, config={"image_size": "big"})),
                             r"config\['image_size'\]\]?: input size 'big' is not S or HxW")
        self.assertLoadFails(self.save(dict(good, config={"model_name": "resnet50", "image_size": 96})),
                             r"architecture 'resnet50'; only timm efficientnet_b0")
        self.assertLoadFails(self.save(dict(good, model_state_dict={"model.fc.weight": torch.zeros(3, 4)})),
                             r"not a timm efficientnet_b0")

    def test_lenient_config_and_overrides(self):
        good = timm_checkpoint(self.model, config={"data": {"img_size": [128, 96]}})
        _, meta = em.load_checkpoint_model(self.save(good), backend="torchvision")
        self.assertEqual(meta["input_size"], (128, 96))
        _, meta = em.load_checkpoint_model(self.save(good), backend="torchvision", input_size="64x80",
                                           class_names=["a", "b", "c"])
        self.assertEqual(meta["input_size"], (64, 80))
        self.assertEqual(meta["class_names"], ["a", "b", "c"])
        timm_style = timm_checkpoint(self.model, config={"input_size": [3, 112, 112]})
        _, meta = em.load_checkpoint_model(self.save(timm_style), backend="torchvision")
        self.assertEqual(meta["input_size"], (112, 112))


class WrapAndExportTest(unittest.TestCase):
    def test_every_architecture_splits_exactly(self):
        for arch in sorted(em.ARCHITECTURES):
            with self.subTest(arch=arch):
                torch.manual_seed(0)
                model = em.ARCHITECTURES[arch][0](3)
                em.calibrate_batchnorm(model, (64, 64), batches=1, batch_size=2)
                wrapped = em.wrap_torchvision(arch, model)
                x = torch.randn(2, 3, 64, 64)
                with torch.no_grad():
                    a = wrapped.features(x)
                    self.assertEqual(a.dim(), 4)
                    self.assertLessEqual((wrapped.head(a) - model(x)).abs().max().item(), 1e-5)
                torch.jit.script(wrapped)  # the bundle path must script with torch 1.13

    def test_batchnorm_is_calibrated(self):
        model = em.build_random_torchvision("tiny_efficientnet", 3, input_size=(32, 32), seed=1)
        bn = model.features[0][1]
        self.assertFalse(model.training)
        self.assertFalse(torch.allclose(bn.running_var, torch.ones_like(bn.running_var)))
        self.assertGreater(int(bn.num_batches_tracked), 0)

    def test_export_writes_a_verified_bundle(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "tiny.pt")
            model = em.build_random_torchvision("tiny_efficientnet", 3, input_size=(48, 40), seed=2)
            em.export_bundle(em.wrap_torchvision("tiny_efficientnet", model), class_names=CLASSES,
                             input_size=(48, 40), mean=em.IMAGENET_MEAN, std=em.IMAGENET_STD,
                             name="t", version="v", target_layer="features", path=path)
            spec = em.verify_bundle(path)
            self.assertEqual(spec["input_size"], {"height": 48, "width": 40})
            self.assertEqual(os.listdir(tmp), ["tiny.pt"])  # no scratch files left

    def test_export_refuses_a_broken_contract(self):
        class Broken(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)
                self.fc = nn.Linear(4, 3)

            def forward(self, x):
                return self.head(self.features(x)) * 2.0

            @torch.jit.export
            def features(self, x):
                return self.conv(x)

            @torch.jit.export
            def head(self, a):
                return self.fc(a.mean(dim=(2, 3)))

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "broken.pt")
            kwargs = dict(input_size=(16, 16), mean=em.IMAGENET_MEAN, std=em.IMAGENET_STD, name="b",
                          version="1", target_layer="conv", path=path)
            with self.assertRaisesRegex(em.ExportError, r"head\(features\(x\)\) differs from forward\(x\)"):
                em.export_bundle(Broken(), class_names=CLASSES, **kwargs)
            with self.assertRaisesRegex(em.ExportError, r"gives 3 classes but class_names has 2"):
                em.export_bundle(Broken(), class_names=["a", "b"], **kwargs)
            with self.assertRaisesRegex(em.ExportError, r"field 'std' must be positive"):
                em.export_bundle(Broken(), class_names=CLASSES, **dict(kwargs, std=[0.2, 0, 0.2]))
            self.assertEqual(os.listdir(tmp), [])  # nothing written

    def test_verify_names_the_broken_rule_of_committed_bad_bundles(self):
        cases = {
            "bad_not_torchscript.pt": r"not a TorchScript archive",
            "bad_missing_head.pt": r"has no method 'head'",
            "bad_no_spec.pt": r"has no extra file 'explainer.json'",
            "bad_spec_field.pt": r"field 'mean' must be a list of 3 finite numbers",
            "bad_class_count.pt": r"gives 3 classes but class_names has 2",
            "bad_head_mismatch.pt": r"head\(features\(x\)\) differs from forward\(x\)",
            "bad_features_3d.pt": r"features\(x\) must be \[N,K,h,w\]",
        }
        for name, pattern in cases.items():
            with self.subTest(bundle=name):
                with self.assertRaisesRegex(em.ExportError, pattern):
                    em.verify_bundle(os.path.join(ENGINE_DATA, name))
        spec = em.verify_bundle(os.path.join(ENGINE_DATA, "tiny_bundle.pt"))
        self.assertEqual(spec["class_names"], CLASSES)


class CommandLineTest(unittest.TestCase):
    def test_random_init_bundle_and_verify(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "m.pt")
            result = run_tool("--arch", "tiny_efficientnet", "--random-init", "--classes", "A,B",
                              "--input-size", "32x48", "--seed", "3", "--out", out)
            self.assertEqual(result.returncode, 0, result.stderr)
            verify = run_tool("--verify", out)
            self.assertEqual(verify.returncode, 0, verify.stderr)
            spec = json.loads(verify.stdout)
            self.assertEqual(spec["input_size"], {"height": 32, "width": 48})
            self.assertEqual(spec["class_names"], ["A", "B"])
            self.assertEqual(spec["version"], "random-seed3")

    def test_errors(self):
        result = run_tool("--arch", "nonet", "--random-init", "--classes", "A,B", "--input-size", "32",
                          "--out", "/nonexistent/x.pt")
        self.assertEqual(result.returncode, 1)
        self.assertIn("export_model.py: error: unknown architecture 'nonet'; known:", result.stderr)
        result = run_tool("--arch", "resnet18", "--classes", "A", "--input-size", "32", "--out", "x.pt")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--arch needs --random-init", result.stderr)
        result = run_tool("--checkpoint", "/nonexistent/ckpt.pth", "--out", "x.pt")
        self.assertEqual(result.returncode, 1)
        self.assertIn("error: checkpoint /nonexistent/ckpt.pth: no such file", result.stderr)
        result = run_tool("--verify", os.path.join(ENGINE_DATA, "bad_no_spec.pt"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("has no extra file 'explainer.json'", result.stderr)


if __name__ == "__main__":
    unittest.main()
