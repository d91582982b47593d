#!/usr/bin/python3
"""Tests of the demo model's pieces: the lesion-map head (tools/export_model.py) and
the training helpers of tools/train_demo_model.py (cell targets, twin pairing, bias
calibration, augmentation, the weights file of --weights_out / --init_weights).
Small hand-made tensors, no phantom data.

Run from the repository root:  /usr/bin/python3 -m unittest discover -s tests/tools -p '*_test.py'
"""

import os
import sys
import unittest

import numpy as np
import torch
from torch import nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import export_model as em  # noqa: E402
import train_demo_model as tdm  # noqa: E402


def lesion_map_net(weight, bias):
    """LesionMapNet on identity features: cell logits = weight @ input cell + bias."""
    net = em.LesionMapNet(nn.Identity(), len(weight[0]), len(weight))
    with torch.no_grad():
        net.classifier.weight.copy_(torch.tensor(weight, dtype=torch.float32).view(len(weight), -1, 1, 1))
        net.classifier.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return net.eval()


class LesionMapHeadTest(unittest.TestCase):
    def test_logits_are_those_of_the_most_suspicious_cell(self):
        # Channel k feeds class k's evidence. Cell (0, 1) has the strongest Normal
        # evidence, cell (1, 0) the largest Malignant-over-Normal margin.
        net = lesion_map_net(np.eye(3).tolist(), [0.0, 0.0, 0.0])
        a = torch.zeros(1, 3, 2, 2)
        a[0, 0, 0, 1] = 9.0
        a[0, :, 1, 0] = torch.tensor([1.0, 0.5, 4.0])
        a[0, :, 1, 1] = torch.tensor([0.0, 2.0, 0.0])
        logits = net.head(a)
        torch.testing.assert_close(logits, torch.tensor([[1.0, 0.5, 4.0]]))
        self.assertEqual(net(a).tolist(), logits.tolist())

    def test_scripted_bundle_keeps_the_contract_and_explains_with_the_evidence_map(self):
        torch.manual_seed(0)
        model = em.ARCHITECTURES["mobilenet_v3_small_lesionmap"][0](3).eval()
        bundle = torch.jit.script(em.wrap_torchvision("mobilenet_v3_small_lesionmap", model))
        x = torch.randn(2, 3, 96, 128)
        torch.testing.assert_close(bundle(x), model(x))
        a = bundle.features(x).detach().requires_grad_()
        torch.testing.assert_close(bundle.head(a), bundle(x))
        bundle.head(a)[0, 2].backward()
        # Only the selected cell of image 0 has a gradient, and it is class 2's weights.
        cells = (a.grad.abs().sum(1) > 0).sum(dim=(1, 2)).tolist()
        self.assertEqual(cells, [1, 0])
        g = a.grad[0].flatten(1)
        cell = int(g.abs().sum(0).argmax())
        torch.testing.assert_close(g[:, cell], model.classifier.weight[2].flatten())


class CellLabelsTest(unittest.TestCase):
    def test_covered_uncovered_and_ignored_cells(self):
        cov = torch.zeros(2, 2, 1, 4)
        cov[0, 0, 0] = torch.tensor([0.0, 0.01, 0.1, 0.6])  # a Benign film
        cov[1, 1, 0] = torch.tensor([0.3, 0.25, 0.03, 0.0])  # a Malignant film
        labels = torch.tensor([1, 2])
        self.assertEqual(tdm.cell_labels(cov, labels).tolist(),
                         [[[0, 0, -100, 1]], [[2, 2, -100, 0]]])

    def test_normal_and_twin_films_are_normal_everywhere(self):
        out = tdm.cell_labels(torch.zeros(1, 2, 3, 3), torch.tensor([0]))
        self.assertTrue((out == 0).all())


class PairedOrderTest(unittest.TestCase):
    def test_every_tumour_is_followed_by_its_twin_and_nothing_is_lost(self):
        # Films 0-5; 1 and 4 are tumours whose twins are 6 and 7.
        partner = np.array([-1, 6, -1, -1, 7, -1, 1, 4])
        for seed in range(5):
            order = tdm.paired_order(partner, torch.Generator().manual_seed(seed)).tolist()
            self.assertEqual(sorted(order), list(range(8)))
            for tumour, twin in ((1, 6), (4, 7)):
                self.assertEqual(order[order.index(tumour) + 1], twin)
        orders = {tuple(tdm.paired_order(partner, torch.Generator().manual_seed(s)))
                  for s in range(5)}
        self.assertGreater(len(orders), 1)


class CalibrateClassBiasTest(unittest.TestCase):
    def test_offsets_recover_a_ranking_the_argmax_missed(self):
        # Benign films have a bright square; Benign evidence = brightness - 5, so the
        # argmax says Normal everywhere until the Benign bias moves up.
        images = np.zeros((8, 16, 16), np.uint8)
        images[4:, 4:8, 4:8] = 255
        labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
        net = lesion_map_net([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [0.0, -5.0, -9.0])
        with torch.no_grad():
            before = net(tdm.normalise(torch.from_numpy(images).float() / 255)).argmax(1)
        self.assertEqual(before.tolist(), [0] * 8)
        offsets = tdm.calibrate_class_bias(net, images, labels)
        self.assertEqual(offsets[0], 0.0)
        self.assertGreater(offsets[1], 0.0)
        with torch.no_grad():
            after = net(tdm.normalise(torch.from_numpy(images).float() / 255)).argmax(1)
        self.assertEqual(after.tolist(), labels.tolist())
        torch.testing.assert_close(net.classifier.bias,
                                   torch.tensor([0.0, -5.0 + offsets[1], -9.0 + offsets[2]]))


class AugmentTest(unittest.TestCase):
    def test_image_and_cell_targets_move_together(self):
        # One bright 8x8 block per 32x32 image, in the cell its target marks (stride 8:
        # a 4x4 grid). Whatever flips and turns each image gets, the brightest cell of
        # the image must still be the marked cell.
        n = 64
        images = torch.zeros(n, 32, 32)
        masks = torch.zeros(n, 2, 4, 4)
        rng = np.random.default_rng(0)
        for i in range(n):
            r, c = rng.integers(4, size=2)
            images[i, 8 * r:8 * r + 8, 8 * c:8 * c + 8] = 1.0
            masks[i, 0, r, c] = 1.0
        x, m = tdm.augment(images, masks, torch.Generator().manual_seed(1))
        self.assertEqual(x.shape, images.shape)
        self.assertEqual(m.shape, masks.shape)
        cells = x.view(n, 4, 8, 4, 8).mean(dim=(2, 4)).flatten(1).argmax(1)
        self.assertEqual(cells.tolist(), m[:, 0].flatten(1).argmax(1).tolist())
        self.assertTrue(bool((x >= 0).all()) and bool((x <= 1).all()))
        # The geometry really varies: not every block stayed where it was.
        self.assertFalse(torch.equal(m, masks))

    def test_same_seed_same_batch(self):
        images, masks = torch.rand(6, 16, 16), torch.rand(6, 2, 2, 2)
        a = tdm.augment(images, masks, torch.Generator().manual_seed(3))
        b = tdm.augment(images, masks, torch.Generator().manual_seed(3))
        self.assertTrue(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]))


class WeightsFileTest(unittest.TestCase):
    def test_round_trip_keeps_every_tensor_and_the_record(self):
        import tempfile
        net = lesion_map_net(np.eye(3).tolist(), [0.1, -0.2, 0.3])
        record = {"args": {"arch": "x"}, "best_epoch": 4, "history": [{"epoch": 1}]}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "w.npz")
            tdm.save_weights(path, net.state_dict(), record)
            other = lesion_map_net(np.zeros((3, 3)).tolist(), [0.0, 0.0, 0.0])
            state, got = tdm.read_weights(path)
            other.load_state_dict(state)
            self.assertEqual(got, record)
            self.assertEqual(os.listdir(tmp), ["w.npz"])  # no temporary left behind
        for k, v in net.state_dict().items():
            self.assertTrue(torch.equal(v, other.state_dict()[k]), k)

    def test_command_names_only_what_differs_from_the_defaults(self):
        defaults = {k: 1 for k in tdm.TRAINING_ARGS}
        defaults["twins"] = True
        values = dict(defaults, epochs=30, device="cuda", twins=False)
        self.assertEqual(tdm.training_command(values, defaults),
                         "tools/train_demo_model.py --phantom build/tools/phantom/explainer-phantom"
                         " --epochs 30 --no-twins --device cuda")


class CommandLineTest(unittest.TestCase):
    """Bad flags stop at once (exit 2) with a message naming the flag, before any data
    is generated. /bin/true stands in for the phantom binary: none of these get that far."""

    def run_script(self, *flags):
        import subprocess
        return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train_demo_model.py"),
                               "--phantom", "/bin/true", *flags],
                              capture_output=True, text=True, timeout=120)

    def assert_refused(self, flags, *expected):
        got = self.run_script(*flags)
        self.assertEqual(got.returncode, 2, got.stderr)
        for text in expected:
            self.assertIn(text, got.stderr)

    def test_weights_files_that_are_not_weights_files(self):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            missing = os.path.join(tmp, "missing.npz")
            self.assert_refused(["--init_weights", missing], f"--init_weights {missing}: not a weights "
                                "file from --weights_out (FileNotFoundError")
            text = os.path.join(tmp, "notes.npz")
            with open(text, "w") as f:
                f.write("not numpy")
            self.assert_refused(["--init_weights", text], f"--init_weights {text}: not a weights file")
            bare = os.path.join(tmp, "bare.npz")  # arrays, but no training record
            np.savez(bare, x=np.zeros(2))
            self.assert_refused(["--init_weights", bare], f"--init_weights {bare}: not a weights file")

    def test_other_bad_flags(self):
        self.assert_refused(["--weights_out", "/nonexistent-folder/w.npz"],
                            "--weights_out /nonexistent-folder/w.npz: its folder does not exist")
        self.assert_refused(["--weights_out", "a.npz", "--init_weights", "b.npz"],
                            "--weights_out and --init_weights exclude each other")
        self.assert_refused(["--device", "gpu"], "--device gpu:")
        if not torch.cuda.is_available():
            self.assert_refused(["--device", "cuda"], "--device cuda: this torch", "sees no CUDA device")


if __name__ == "__main__":
    unittest.main()
