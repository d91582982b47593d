#!/usr/bin/python3
"""Builds an Explainer model bundle: a TorchScript file with forward/features/head
and an explainer.json extra file, verified against the bundle contract before it is
written.

Two sources:
  (a) the training checkpoint (torch.save'd dict: model_state_dict with timm
      efficientnet_b0 weights under a "model." prefix, config, class_names,
      normalization). timm is used when importable; otherwise the timm weights are
      mapped onto torchvision's efficientnet_b0 (the same network) by explicit rules.
  (b) a torchvision architecture with seeded random weights and BatchNorm statistics
      calibrated on random batches (tests and benchmarks).

  tools/export_model.py --checkpoint ckpt.pth --out bundle.pt [--name N --version V]
  tools/export_model.py --arch efficientnet_b0 --random-init \
      --classes Normal,Benign,Malignant --input-size 224 --out bundle.pt [--seed 0]
  tools/export_model.py --verify bundle.pt

Importable API (tools/train_demo_model.py uses it): wrap_torchvision, export_bundle,
verify_bundle, build_random_torchvision, calibrate_batchnorm, load_checkpoint_model.
"""

import argparse
import json
import math
import os
import re
import sys
import tempfile
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

BUNDLE_FORMAT = 1
EXTRA_FILE = "explainer.json"
CONTRACT_ATOL = 1e-4  # head(features(x)) vs forward(x), and scripted vs eager
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ExportError(Exception):
    """A bad checkpoint, architecture or bundle; the message says what and where."""


# ---------------------------------------------------------------------------------
# Architectures and wrappers
# ---------------------------------------------------------------------------------


def _tiny_efficientnet(num_classes: int) -> nn.Module:
    # B0's building blocks (MBConv with SE and SiLU, BatchNorm), four small stages and
    # an overall stride of 8, so a 64x80 input gives an 8x10 Grad-CAM map: ~18k
    # parameters, for committed test bundles.
    from torchvision.models.efficientnet import EfficientNet, MBConvConfig

    conf = partial(MBConvConfig, width_mult=1.0, depth_mult=1.0)
    setting = [conf(1, 3, 1, 16, 8, 1), conf(4, 3, 2, 8, 16, 1),
               conf(4, 5, 2, 16, 24, 1), conf(4, 3, 1, 24, 32, 1)]
    return EfficientNet(setting, dropout=0.2, num_classes=num_classes, last_channel=64)


class LesionMapNet(nn.Module):
    """A backbone's features, a 1x1 convolution to class logits per feature-grid cell
    (evidence maps), and multiple-instance pooling: the film's logits are those of its
    most suspicious cell, the one whose logits most favour any tumour class (classes
    1.. ) over class 0 (Normal). A small lesion decides the class without being averaged
    away over the film, the maps can be supervised cell by cell with the same meaning,
    and Grad-CAM of this head is the class's evidence map (ReLU, scaled). Explainer's
    demo model uses it on MobileNetV3-Small."""

    def __init__(self, features: nn.Module, channels: int, num_classes: int):
        super().__init__()
        self.features = features
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def evidence(self, a: torch.Tensor) -> torch.Tensor:
        return self.classifier(a)

    def head(self, a: torch.Tensor) -> torch.Tensor:
        z = torch.flatten(self.classifier(a), 2)  # [N, C, cells]
        suspicion = torch.logsumexp(z[:, 1:], dim=1) - z[:, 0]
        cell = torch.argmax(suspicion, dim=1).view(-1, 1, 1).expand(-1, z.shape[1], 1)
        return torch.gather(z, 2, cell).squeeze(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _mobilenet_v3_small_lesionmap(num_classes: int) -> nn.Module:
    return LesionMapNet(torchvision.models.mobilenet_v3_small(weights=None).features, 576,
                        num_classes)


def _tv(name: str) -> Callable[[int], nn.Module]:
    return lambda n: getattr(torchvision.models, name)(weights=None, num_classes=n)


# name -> (constructor(num_classes), wrapper family, target layer (informational))
ARCHITECTURES: Dict[str, Tuple[Callable[[int], nn.Module], str, str]] = {
    "efficientnet_b0": (_tv("efficientnet_b0"), "pooled", "features"),
    "mobilenet_v3_small": (_tv("mobilenet_v3_small"), "pooled", "features"),
    "mobilenet_v3_large": (_tv("mobilenet_v3_large"), "pooled", "features"),
    "resnet18": (_tv("resnet18"), "resnet", "layer4"),
    "resnet34": (_tv("resnet34"), "resnet", "layer4"),
    "resnet50": (_tv("resnet50"), "resnet", "layer4"),
    "tiny_efficientnet": (_tiny_efficientnet, "pooled", "features"),
    "mobilenet_v3_small_lesionmap": (_mobilenet_v3_small_lesionmap, "lesionmap", "features"),
}


class PooledBundle(nn.Module):
    """EfficientNet / MobileNetV3: features -> global average pool -> classifier."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The model's own forward, so that head(features(x)) == forward(x) is a real check.
        return self.model(x)

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.features(x)

    @torch.jit.export
    def head(self, a: torch.Tensor) -> torch.Tensor:
        a = F.adaptive_avg_pool2d(a, 1)
        a = torch.flatten(a, 1)
        return self.model.classifier(a)


class LesionMapBundle(PooledBundle):
    """LesionMapNet: head = 1x1 evidence convolution + most-suspicious-cell pooling."""

    @torch.jit.export
    def head(self, a: torch.Tensor) -> torch.Tensor:
        return self.model.head(a)


class ResNetBundle(nn.Module):
    """ResNet: features end at layer4; head = avgpool + flatten + fc."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x))))

    @torch.jit.export
    def head(self, a: torch.Tensor) -> torch.Tensor:
        a = torch.flatten(self.model.avgpool(a), 1)
        return self.model.fc(a)


class TimmBundle(nn.Module):
    """A timm model: features = forward_features, head = forward_head."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(x)

    @torch.jit.export
    def head(self, a: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(a)


def wrap_torchvision(arch: str, model: nn.Module) -> nn.Module:
    """Wraps a torchvision model of `arch` in a module with forward/features/head."""
    if arch not in ARCHITECTURES:
        raise ExportError(f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    family = ARCHITECTURES[arch][1]
    bundles = {"pooled": PooledBundle, "resnet": ResNetBundle, "lesionmap": LesionMapBundle}
    wrapped = bundles[family](model)
    return wrapped.eval()


def target_layer_of(arch: str) -> str:
    return ARCHITECTURES[arch][2]


def calibrate_batchnorm(model: nn.Module, input_size: Tuple[int, int], *, batches: int = 4,
                        batch_size: int = 8, seed: int = 0) -> nn.Module:
    """Replaces BatchNorm running statistics by those of random N(0,1) batches.

    Random init leaves running_mean=0/var=1, which makes deep activations explode or
    vanish in eval mode; cumulative statistics (momentum None) from a few batches keep
    them in a sane range. Everything but BatchNorm stays in eval mode (no dropout, no
    stochastic depth)."""
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(batch_size, 3, input_size[0], input_size[1], generator=gen))
    for bn in norms:
        bn.momentum = 0.1
    return model.eval()


def build_random_torchvision(arch: str, num_classes: int, *, input_size: Tuple[int, int],
                             seed: int = 0) -> nn.Module:
    """A torchvision `arch` with seeded random weights and calibrated BatchNorm (eval)."""
    if arch not in ARCHITECTURES:
        raise ExportError(f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    torch.manual_seed(seed)
    model = ARCHITECTURES[arch][0](num_classes)
    return calibrate_batchnorm(model, input_size, seed=seed)


# ---------------------------------------------------------------------------------
# Bundle writing and verification
# ---------------------------------------------------------------------------------


def _script(wrapped: nn.Module, probe: torch.Tensor) -> torch.jit.ScriptModule:
    try:
        return torch.jit.script(wrapped)
    except Exception as err:  # noqa: BLE001 - any scripting failure falls back to tracing
        print(f"export_model: torch.jit.script failed ({str(err).splitlines()[0]}); "
              "tracing forward/features/head instead", file=sys.stderr)
    with torch.no_grad():
        a = wrapped.features(probe)
    return torch.jit.trace_module(wrapped, {"forward": probe, "features": probe, "head": a})


def _check_spec(spec: dict, where: str) -> None:
    """The explainer.json rules the C++ engine applies (service/engine/bundle_spec.cc)."""
    def fail(msg):
        raise ExportError(f"{where}: {EXTRA_FILE}: {msg}")

    if not isinstance(spec, dict):
        fail("is not a JSON object")
    if spec.get("bundle_format", BUNDLE_FORMAT) != BUNDLE_FORMAT:
        fail(f"unsupported bundle_format {spec.get('bundle_format')!r} (expected {BUNDLE_FORMAT})")
    for key in ("name", "version", "target_layer"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            fail(f"field '{key}' must be a non-empty string")
    names = spec.get("class_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        fail("field 'class_names' must be a non-empty list of non-empty strings")
    if len(set(names)) != len(names):
        fail(f"field 'class_names' has duplicates: {names}")
    size = spec.get("input_size")
    if not (isinstance(size, dict) and all(isinstance(size.get(k), int) and size[k] > 0
                                           for k in ("height", "width"))):
        fail("field 'input_size' must be {\"height\": H, \"width\": W} with positive integers")
    for key in ("mean", "std"):
        v = spec.get(key)
        if not (isinstance(v, list) and len(v) == 3 and
                all(isinstance(x, (int, float)) and math.isfinite(x) for x in v)):
            fail(f"field '{key}' must be a list of 3 finite numbers")
    if any(s <= 0 for s in spec["std"]):
        fail(f"field 'std' must be positive, got {spec['std']}")


def _check_contract(module, spec: dict, where: str) -> None:
    for method in ("forward", "features", "head"):
        if not module._c._has_method(method):
            raise ExportError(f"{where}: has no method '{method}' (a bundle needs forward, features, head)")
    h, w = spec["input_size"]["height"], spec["input_size"]["width"]
    probe = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(1234))
    with torch.no_grad():
        logits = module.forward(probe)
        feats = module.features(probe)
        if feats.dim() != 4 or feats.shape[0] != 2:
            raise ExportError(f"{where}: features(x) must be [N,K,h,w], got {list(feats.shape)}")
        via_head = module.head(feats)
    if logits.dim() != 2 or logits.shape[0] != 2:
        raise ExportError(f"{where}: forward(x) must be [N,C] logits, got {list(logits.shape)}")
    if logits.shape[1] != len(spec["class_names"]):
        raise ExportError(f"{where}: forward(x) gives {logits.shape[1]} classes but class_names has "
                          f"{len(spec['class_names'])}: {spec['class_names']}")
    if via_head.shape != logits.shape:
        raise ExportError(f"{where}: head(features(x)) shape {list(via_head.shape)} != forward(x) "
                          f"shape {list(logits.shape)}")
    diff = (via_head - logits).abs().max().item()
    if not diff <= CONTRACT_ATOL:
        raise ExportError(f"{where}: head(features(x)) differs from forward(x) by {diff:.3g} "
                          f"(tolerance {CONTRACT_ATOL})")


def verify_bundle(path: str) -> dict:
    """Loads a bundle, checks the whole contract, returns its parsed explainer.json."""
    if not os.path.isfile(path):
        raise ExportError(f"{path}: no such file")
    extra = {EXTRA_FILE: ""}
    try:
        module = torch.jit.load(path, map_location="cpu", _extra_files=extra)
    except RuntimeError as err:
        raise ExportError(f"{path}: not a TorchScript archive ({str(err).splitlines()[0]})") from err
    if not extra[EXTRA_FILE]:
        raise ExportError(f"{path}: has no extra file '{EXTRA_FILE}'")
    try:
        spec = json.loads(extra[EXTRA_FILE])
    except json.JSONDecodeError as err:
        raise ExportError(f"{path}: {EXTRA_FILE} is not valid JSON: {err}") from err
    _check_spec(spec, path)
    _check_contract(module, spec, path)
    return spec


def export_bundle(wrapped: nn.Module, *, class_names: Sequence[str], input_size: Tuple[int, int],
                  mean: Sequence[float], std: Sequence[float], name: str, version: str,
                  target_layer: str, path: str, extra: Optional[dict] = None) -> None:
    """Scripts `wrapped` (forward/features/head), attaches explainer.json, verifies the
    contract on the saved file (and the scripted module against the eager one), and only
    then puts the bundle at `path`. input_size is (height, width)."""
    if isinstance(input_size, (list, tuple)):
        input_size = [int(v) for v in input_size]
    height, width = parse_input_size(input_size, f"{path}: input_size")
    spec = {
        "bundle_format": BUNDLE_FORMAT,
        "name": str(name),
        "version": str(version),
        "class_names": [str(c) for c in class_names],
        "input_size": {"height": height, "width": width},
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "target_layer": str(target_layer),
    }
    if extra:
        spec.update({k: v for k, v in extra.items() if k not in spec})
    _check_spec(spec, path)
    wrapped = wrapped.eval()
    probe = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(99))
    with torch.no_grad():
        eager = wrapped(probe)
    scripted = _script(wrapped, probe)
    out_dir = os.path.dirname(os.path.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    # Same file name in a scratch folder beside the target: the archive's root folder is
    # named after the file, and os.replace stays on one file system.
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=out_dir) as scratch:
        tmp = os.path.join(scratch, os.path.basename(path))
        torch.jit.save(scripted, tmp, _extra_files={EXTRA_FILE: json.dumps(spec, indent=1)})
        verify_bundle(tmp)
        loaded = torch.jit.load(tmp, map_location="cpu")
        with torch.no_grad():
            diff = (loaded(probe) - eager).abs().max().item()
        if not diff <= CONTRACT_ATOL:
            raise ExportError(f"{path}: the saved TorchScript differs from the eager model by {diff:.3g}")
        os.replace(tmp, path)


# ---------------------------------------------------------------------------------
# timm efficientnet_b0 <-> torchvision efficientnet_b0
# ---------------------------------------------------------------------------------

_BN = r"(weight|bias|running_mean|running_var|num_batches_tracked)"
# Sub-layers of timm's blocks and their place in torchvision's MBConv.block.
_DS_LAYERS = {"conv_dw": "0.0", "bn1": "0.1", "se.conv_reduce": "1.fc1", "se.conv_expand": "1.fc2",
              "conv_pw": "2.0", "bn2": "2.1"}  # DepthwiseSeparableConv (expand ratio 1)
_IR_LAYERS = {"conv_pw": "0.0", "bn1": "0.1", "conv_dw": "1.0", "bn2": "1.1",
              "se.conv_reduce": "2.fc1", "se.conv_expand": "2.fc2", "conv_pwl": "3.0", "bn3": "3.1"}
_BLOCK_KEY = re.compile(r"blocks\.(\d+)\.(\d+)\.(.+)\.(\w+)$")


def timm_key_to_torchvision(key: str, head_index: int, inverted_residual: bool) -> Optional[str]:
    """One timm efficientnet key -> its torchvision name, None when no rule applies.

    Rules: conv_stem/bn1 -> features.0.{0,1}; blocks.i.j.<layer> ->
    features.(i+1).j.block.<_DS_LAYERS or _IR_LAYERS>; conv_head/bn2 ->
    features.<head_index>.{0,1}; classifier -> classifier.1."""
    if key == "conv_stem.weight":
        return "features.0.0.weight"
    if m := re.fullmatch(r"bn1\." + _BN, key):
        return f"features.0.1.{m.group(1)}"
    if key == "conv_head.weight":
        return f"features.{head_index}.0.weight"
    if m := re.fullmatch(r"bn2\." + _BN, key):
        return f"features.{head_index}.1.{m.group(1)}"
    if m := re.fullmatch(r"classifier\.(weight|bias)", key):
        return f"classifier.1.{m.group(1)}"
    if m := _BLOCK_KEY.fullmatch(key):
        stage, index, layer, param = m.groups()
        table = _IR_LAYERS if inverted_residual else _DS_LAYERS
        if layer in table:
            return f"features.{int(stage) + 1}.{index}.block.{table[layer]}.{param}"
    return None


def _block_kinds(target: Dict[str, torch.Tensor]) -> Dict[Tuple[int, int], bool]:
    """(timm stage, index) -> True where the torchvision block is an InvertedResidual
    (4 sub-layers, block.3 = projection), False for a DepthwiseSeparable one (3). Read
    from the target architecture, so a checkpoint with missing layers cannot confuse it."""
    kinds: Dict[Tuple[int, int], bool] = {}
    for key in target:
        if m := re.match(r"features\.(\d+)\.(\d+)\.block\.(\d+)\.", key):
            where = (int(m.group(1)) - 1, int(m.group(2)))
            kinds[where] = kinds.get(where, False) or m.group(3) == "3"
    return kinds


def timm_to_torchvision_state_dict(timm_sd: Dict[str, torch.Tensor],
                                   target: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Maps a timm efficientnet state dict onto `target` (a torchvision efficientnet
    state dict), checking that every key on both sides is used once with its shape."""
    kinds = _block_kinds(target)
    head_index = max(int(k.split(".")[1]) for k in target if k.startswith("features."))
    out: Dict[str, torch.Tensor] = {}
    unmapped, missing_in_target, shape_errors = [], [], []
    for key, value in timm_sd.items():
        block = _BLOCK_KEY.fullmatch(key)
        inverted = kinds.get((int(block.group(1)), int(block.group(2))), False) if block else False
        tv_key = timm_key_to_torchvision(key, head_index, inverted)
        if tv_key is None:
            unmapped.append(key)
        elif tv_key not in target:
            missing_in_target.append(f"{key} -> {tv_key}")
        elif tuple(target[tv_key].shape) != tuple(value.shape):
            shape_errors.append(f"{key} {list(value.shape)} -> {tv_key} {list(target[tv_key].shape)}")
        else:
            out[tv_key] = value
    not_filled = sorted(set(target) - set(out))
    problems = []
    if unmapped:
        problems.append(f"{len(unmapped)} timm keys have no mapping rule: {unmapped[:8]}")
    if missing_in_target:
        problems.append(f"{len(missing_in_target)} mapped keys do not exist in torchvision's "
                        f"efficientnet_b0: {missing_in_target[:8]}")
    if shape_errors:
        problems.append(f"{len(shape_errors)} shape mismatches: {shape_errors[:8]}")
    if not_filled and not problems:
        problems.append(f"{len(not_filled)} torchvision weights get no value: {not_filled[:8]}")
    if problems:
        raise ExportError("the checkpoint's weights are not a timm efficientnet_b0: " + "; ".join(problems))
    return out


def torchvision_to_timm_state_dict(tv_sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The inverse mapping (used by tests to synthesise a training checkpoint)."""
    head_index = max(int(k.split(".")[1]) for k in tv_sd if k.startswith("features."))
    inverse_ds = {v: k for k, v in _DS_LAYERS.items()}
    inverse_ir = {v: k for k, v in _IR_LAYERS.items()}
    out = {}
    for key, value in tv_sd.items():
        if m := re.fullmatch(r"features\.0\.0\.weight", key):
            out["conv_stem.weight"] = value
        elif m := re.fullmatch(r"features\.0\.1\.(\w+)", key):
            out[f"bn1.{m.group(1)}"] = value
        elif m := re.fullmatch(rf"features\.{head_index}\.0\.weight", key):
            out["conv_head.weight"] = value
        elif m := re.fullmatch(rf"features\.{head_index}\.1\.(\w+)", key):
            out[f"bn2.{m.group(1)}"] = value
        elif m := re.fullmatch(r"classifier\.1\.(\w+)", key):
            out[f"classifier.{m.group(1)}"] = value
        elif m := re.fullmatch(r"features\.(\d+)\.(\d+)\.block\.(\d\.(?:\d|fc1|fc2))\.(\w+)", key):
            stage, index, layer, param = m.groups()
            inverted = any(k.startswith(f"features.{stage}.{index}.block.3.") for k in tv_sd)
            table = inverse_ir if inverted else inverse_ds
            out[f"blocks.{int(stage) - 1}.{index}.{table[layer]}.{param}"] = value
        else:
            raise ExportError(f"no inverse rule for torchvision key {key}")
    return out


# ---------------------------------------------------------------------------------
# The training checkpoint
# ---------------------------------------------------------------------------------

_SIZE_KEYS = ("image_size", "img_size", "input_size", "imgsz", "size", "resize")


def _as_dict(obj) -> Optional[dict]:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "__dict__"):
        return vars(obj)
    return None


def parse_input_size(value, where: str) -> Tuple[int, int]:
    """int S -> (S, S); [H, W] -> (H, W); [3, H, W] (timm input_size) -> (H, W);
    "S" or "HxW" strings as on the command line."""
    if isinstance(value, str):
        parts = value.lower().split("x")
        try:
            value = [int(p) for p in parts] if len(parts) > 1 else int(parts[0])
        except ValueError:
            raise ExportError(f"{where}: input size {value!r} is not S or HxW (e.g. 224 or 256x192)") from None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if isinstance(value, (list, tuple)) and len(value) == 3 and value[0] in (1, 3):
        value = list(value[1:])
    if (isinstance(value, (list, tuple)) and len(value) == 2 and
            all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        return int(value[0]), int(value[1])
    raise ExportError(f"{where}: input size {value!r} is not a positive int, [H, W] or [3, H, W]")


def _find_input_size(config: Optional[dict]) -> Optional[Tuple[int, int]]:
    if config is None:
        return None
    scopes = [("config", config)] + [(f"config[{k!r}]", _as_dict(v)) for k, v in config.items()
                                     if _as_dict(v) is not None and not isinstance(v, (str, bytes))]
    for scope_name, scope in scopes:
        for key in _SIZE_KEYS:
            if key in scope and scope[key] is not None:
                return parse_input_size(scope[key], f"checkpoint {scope_name}[{key!r}]")
    return None


def _strip_prefix(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The training wrapper keeps the timm model as `self.model`; DataParallel adds `module.`."""
    for prefix in ("module.", "model."):
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix):]: v for k, v in sd.items()}
    return sd


def _triple(value, what: str, where: str) -> List[float]:
    if isinstance(value, torch.Tensor):
        value = value.flatten().tolist()
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    try:
        out = [float(v) for v in value]
    except (TypeError, ValueError):
        out = []
    if len(out) != 3 or not all(math.isfinite(v) for v in out):
        raise ExportError(f"{where}: {what} must be 3 numbers (R,G,B), got {value!r}")
    return out


def load_checkpoint_model(path: str, *, input_size=None, class_names=None, mean=None, std=None,
                          backend: str = "auto"):
    """Reads the training checkpoint; returns (wrapped module, metadata dict with
    class_names, input_size (H, W), mean, std, arch, target_layer, backend).

    Overrides (command-line flags) win over what the checkpoint says."""
    if not os.path.isfile(path):
        raise ExportError(f"checkpoint {path}: no such file")
    try:
        ckpt = torch.load(path, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - pickle/zip errors of every kind
        raise ExportError(f"checkpoint {path}: not a torch.save file ({str(err).splitlines()[0]})") from err
    if not isinstance(ckpt, dict):
        raise ExportError(f"checkpoint {path}: expected a dict with model_state_dict, config, class_names, "
                          f"normalization; got a {type(ckpt).__name__}")
    state = ckpt.get("model_state_dict", ckpt.get("state_dict"))
    if not isinstance(state, dict) or not state:
        raise ExportError(f"checkpoint {path}: no 'model_state_dict' (keys present: {sorted(map(str, ckpt))})")
    state = _strip_prefix(state)
    config = _as_dict(ckpt.get("config"))

    arch = "efficientnet_b0"
    for key in ("model_name", "arch", "model", "backbone"):
        value = (config or {}).get(key)
        if isinstance(value, str):
            arch = value.split(".")[0].split("/")[-1]
            if arch.startswith("timm_"):
                arch = arch[len("timm_"):]
            break
    if arch != "efficientnet_b0":
        raise ExportError(f"checkpoint {path}: config names architecture {arch!r}; only timm "
                          "efficientnet_b0 checkpoints are supported")

    if class_names is None:
        class_names = ckpt.get("class_names", (config or {}).get("class_names"))
    if (not isinstance(class_names, (list, tuple)) or not class_names or
            not all(isinstance(c, str) and c for c in class_names)):
        raise ExportError(f"checkpoint {path}: 'class_names' must be a non-empty list of strings, "
                          f"got {class_names!r} (or pass --classes)")
    class_names = list(class_names)

    if input_size is None:
        input_size = _find_input_size(config)
        if input_size is None:
            raise ExportError(f"checkpoint {path}: no image size in config (looked for "
                              f"{', '.join(_SIZE_KEYS)} in config and its sub-dicts); pass --input-size")
    else:
        input_size = parse_input_size(input_size, "--input-size")

    norm = _as_dict(ckpt.get("normalization")) or _as_dict((config or {}).get("normalization")) or {}
    mean = mean if mean is not None else norm.get("mean", (config or {}).get("mean"))
    std = std if std is not None else norm.get("std", (config or {}).get("std"))
    if mean is None or std is None:
        raise ExportError(f"checkpoint {path}: no 'normalization' {{mean, std}}; pass --mean and --std")
    mean = _triple(mean, "normalization mean", f"checkpoint {path}")
    std = _triple(std, "normalization std", f"checkpoint {path}")
    if any(s <= 0 for s in std):
        raise ExportError(f"checkpoint {path}: normalization std must be positive, got {std}")

    classifier = state.get("classifier.weight")
    if classifier is None or "conv_stem.weight" not in state:
        raise ExportError(f"checkpoint {path}: model_state_dict is not a timm efficientnet_b0 "
                          f"(no conv_stem.weight / classifier.weight; first keys: {list(state)[:5]})")
    if classifier.shape[0] != len(class_names):
        raise ExportError(f"checkpoint {path}: classifier has {classifier.shape[0]} outputs but "
                          f"class_names has {len(class_names)}: {class_names}")

    tv_model = torchvision.models.efficientnet_b0(weights=None, num_classes=len(class_names)).eval()
    tv_model.load_state_dict(timm_to_torchvision_state_dict(state, tv_model.state_dict()), strict=True)
    wrapped: nn.Module = wrap_torchvision("efficientnet_b0", tv_model)
    used = "torchvision"
    target_layer = "bn2 (timm forward_features; torchvision features)"

    timm = None
    if backend in ("auto", "timm"):
        try:
            import timm  # noqa: F401 - optional
        except ImportError:
            if backend == "timm":
                raise ExportError("--backend timm: timm is not installed") from None
    if timm is not None:
        timm_model = timm.create_model("efficientnet_b0", pretrained=False, num_classes=len(class_names))
        try:
            timm_model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise ExportError(f"checkpoint {path}: timm efficientnet_b0 rejects the weights: {err}") from err
        timm_model.eval()
        # The two builds of the same weights must agree; this also checks the mapping rules.
        probe = torch.randn(2, 3, input_size[0], input_size[1], generator=torch.Generator().manual_seed(5))
        with torch.no_grad():
            diff = (timm_model(probe) - tv_model(probe)).abs().max().item()
        if diff > CONTRACT_ATOL:
            raise ExportError(f"checkpoint {path}: timm and torchvision builds disagree by {diff:.3g}")
        wrapped, used = TimmBundle(timm_model).eval(), "timm"

    meta = {"class_names": class_names, "input_size": input_size, "mean": mean, "std": std,
            "arch": arch, "target_layer": target_layer, "backend": used,
            "epoch": ckpt.get("epoch")}
    return wrapped, meta


# ---------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------


def _parse_args(argv):
    p = argparse.ArgumentParser(
        prog="export_model.py",
        description="Build a verified Explainer model bundle (TorchScript + explainer.json).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="training checkpoint (.pth) with a timm efficientnet_b0")
    src.add_argument("--arch", help=f"torchvision architecture: {', '.join(sorted(ARCHITECTURES))}")
    src.add_argument("--verify", metavar="BUNDLE", help="check an existing bundle and print its explainer.json")
    p.add_argument("--random-init", action="store_true",
                   help="with --arch: seeded random weights, BatchNorm calibrated on random batches")
    p.add_argument("--out", help="bundle file to write (.pt)")
    p.add_argument("--classes", help="comma-separated class names (required with --arch)")
    p.add_argument("--input-size", help="S or HxW (height x width); required with --arch")
    p.add_argument("--mean", help="R,G,B normalisation mean (default: checkpoint / ImageNet)")
    p.add_argument("--std", help="R,G,B normalisation std (default: checkpoint / ImageNet)")
    p.add_argument("--name", help="model name (default: the architecture)")
    p.add_argument("--version", help="model version (default: 1, or epoch-N from the checkpoint)")
    p.add_argument("--seed", type=int, default=0, help="random-init seed (default 0)")
    p.add_argument("--backend", choices=("auto", "timm", "torchvision"), default="auto",
                   help="checkpoint: build with timm when importable (auto) or always torchvision")
    args = p.parse_args(argv)
    if args.verify is None and not args.out:
        p.error("--out is required")
    if args.arch is not None:
        if not args.random_init:
            p.error("--arch needs --random-init (weights come only from --checkpoint)")
        if not args.classes or not args.input_size:
            p.error("--arch needs --classes and --input-size")
    elif args.random_init:
        p.error("--random-init goes with --arch")
    return args


def main(argv=None) -> int:
    args = _parse_args(argv)
    try:
        if args.verify is not None:
            print(json.dumps(verify_bundle(args.verify), indent=1))
            return 0
        classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
        if classes is not None and not all(classes):
            raise ExportError(f"--classes {args.classes!r} has an empty name")
        mean = _triple(args.mean, "--mean", "command line") if args.mean else None
        std = _triple(args.std, "--std", "command line") if args.std else None
        if args.checkpoint:
            wrapped, meta = load_checkpoint_model(args.checkpoint, input_size=args.input_size,
                                                  class_names=classes, mean=mean, std=std,
                                                  backend=args.backend)
            name = args.name or meta["arch"]
            version = args.version or (f"epoch-{meta['epoch']}" if meta["epoch"] is not None else "1")
            extra = {"arch": meta["arch"], "source": os.path.basename(args.checkpoint),
                     "backend": meta["backend"]}
        else:
            size = parse_input_size(args.input_size, "--input-size")
            model = build_random_torchvision(args.arch, len(classes), input_size=size, seed=args.seed)
            wrapped = wrap_torchvision(args.arch, model)
            meta = {"class_names": classes, "input_size": size, "mean": mean or list(IMAGENET_MEAN),
                    "std": std or list(IMAGENET_STD), "target_layer": target_layer_of(args.arch)}
            name = args.name or args.arch
            version = args.version or f"random-seed{args.seed}"
            extra = {"arch": args.arch, "source": f"random-init seed {args.seed}"}
        export_bundle(wrapped, class_names=meta["class_names"], input_size=meta["input_size"],
                      mean=meta["mean"], std=meta["std"], name=name, version=version,
                      target_layer=meta["target_layer"], path=args.out, extra=extra)
        print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes): {name} {version}, "
              f"classes {meta['class_names']}, input {meta['input_size'][0]}x{meta['input_size'][1]}")
        return 0
    except ExportError as err:
        print(f"export_model.py: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
