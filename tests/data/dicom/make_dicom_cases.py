#!/usr/bin/python3
"""Makes the DICOM test cases at test time, with their references.

  /usr/bin/python3 tests/data/dicom/make_dicom_cases.py --out DIR

writes into DIR:
  <case>.dcm      DICOM Part 10 files built from a synthetic radiograph phantom with
                  pydicom (uncompressed) and DCMTK's dcmconv / dcmcjpeg / dcmcjpls /
                  dcmcrle (implicit, deflate, JPEG, JPEG-LS, RLE); never patient data;
  <case>.ref.png  the expected 8-bit grey image of every decodable case, computed by
                  pydicom (its pixel handlers, with GDCM for JPEG and JPEG-LS, then
                  apply_modality_lut and apply_voi_lut; min-max when no VOI is given;
                  MONOCHROME1 inverted): an independent reference, not our C++ output;
  cases.json      [{"name", "file", "reference" | "error", "code", ...}], what the C++
                  test (tests/common/dicom_decode_test.cc) checks each file against.

Needs Debian's python3-pydicom, python3-gdcm, python3-numpy, python3-opencv and dcmtk.
"""

import argparse
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, JPEG2000Lossless, generate_uid)

ROWS, COLS = 96, 80  # not square, so a transposed decode shows
UID_ROOT = "1.2.826.0.1.3680043.10.1188."  # test-only root under pydicom's org root
SOP_CLASS = {
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "OT": "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
}


def phantom(seed: int) -> np.ndarray:
    """A radiograph-like float image in [0, 1]: soft tissue, a long bone with a
    cortical rim, a lytic lesion and noise. Deterministic per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ROWS, 0:COLS].astype(np.float64)
    img = 0.15 + 0.1 * (y / ROWS)
    tissue = ((x - COLS / 2) / (COLS * 0.42)) ** 2 < 1
    img[tissue] += 0.2
    dist = np.abs(x - COLS / 2 - 3 * np.sin(y / 15))
    img[dist < 12] = 0.75
    img[dist < 7] = 0.55  # medullary canal inside the cortex
    lesion = (x - COLS / 2 - 2) ** 2 + (y - ROWS * 0.6) ** 2 < 36
    img[lesion] = 0.35
    img += rng.normal(0, 0.02, img.shape)
    return np.clip(img, 0, 1)


def base_dataset(name: str, modality: str, photometric: str, stored: int, signed: bool,
                 pixels: np.ndarray, seed: int) -> Dataset:
    entropy = [name, str(seed)]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASS[modality]
    meta.MediaStorageSOPInstanceUID = generate_uid(UID_ROOT, entropy + ["sop"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.preamble = b"\0" * 128
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(UID_ROOT, ["study", str(seed)])
    ds.SeriesInstanceUID = generate_uid(UID_ROOT, entropy + ["series"])
    ds.PatientName = "PHANTOM^SYNTHETIC"
    ds.PatientID = "PHANTOM-%03d" % seed
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyDate = "20260101"
    ds.StudyTime = "120000"
    ds.AccessionNumber = "ACC%04d" % seed
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Modality = modality
    ds.BodyPartExamined = "LEG"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 8 if stored == 8 else 16
    ds.BitsStored = stored
    ds.HighBit = stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelData = pixels.tobytes()
    return ds


def stored_pixels(img: np.ndarray, stored: int, signed: bool, invert: bool) -> np.ndarray:
    """Phantom -> stored values spanning most of the stored range."""
    v = 1.0 - img if invert else img
    if signed:
        lo, hi = -(2 ** (stored - 1)), 2 ** (stored - 1) - 1
    else:
        lo, hi = 0, 2 ** stored - 1
    span = hi - lo
    vals = np.round(lo + span * (0.05 + 0.9 * v)).astype(np.int64)
    dtype = {(8, False): np.uint8, (8, True): np.int8}.get(
        (8 if stored == 8 else 16, signed), np.int16 if signed else np.uint16)
    return vals.astype(dtype)


def reference(path: str) -> np.ndarray:
    """pydicom's rendering of `path` to 8 bits (independent of DCMTK)."""
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    modality = apply_modality_lut(arr, ds)
    if "VOILUTSequence" in ds:
        # A LUT is indexed by the (integer) modality values.
        out = apply_voi_lut(modality, ds, index=0).astype(np.float64)
        bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        frac = out / (2 ** bits - 1)
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        out = apply_voi_lut(modality, ds, index=0)
        # pydicom's output range: what its windowing gives far below and far above.
        y_min, y_max = apply_voi_lut(np.array([-1e12, 1e12]), ds, index=0)
        frac = (out - y_min) / (y_max - y_min)
    else:
        modality = modality.astype(np.float64)
        lo, hi = modality.min(), modality.max()
        frac = (modality - lo) / (hi - lo) if hi > lo else np.zeros_like(modality)
    out8 = np.round(np.clip(frac, 0, 1) * 255).astype(np.uint8)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        out8 = 255 - out8
    return out8


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    cases = []

    def path(name):
        return os.path.join(out, name + ".dcm")

    def good(name, **extra):
        ref = reference(path(name))
        cv2.imwrite(os.path.join(out, name + ".ref.png"), ref)
        ds = pydicom.dcmread(path(name), stop_before_pixels=True)
        cases.append(dict(name=name, file=name + ".dcm", reference=name + ".ref.png",
                          transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
                          sop_instance_uid=str(ds.SOPInstanceUID),
                          study_instance_uid=str(ds.StudyInstanceUID), **extra))

    def bad(name, code, error):
        cases.append(dict(name=name, file=name + ".dcm", code=code, error=error))

    # ---- Uncompressed: photometric interpretation x bit depth x signedness x LUTs.
    specs = [
        # name, modality, photometric, stored, signed, window, rescale (slope, intercept)
        ("mono2_u8_minmax", "OT", "MONOCHROME2", 8, False, None, None),
        ("mono2_u8_window", "CR", "MONOCHROME2", 8, False, (128, 200), None),
        ("mono2_u10_window", "DX", "MONOCHROME2", 10, False, (500, 700), None),
        ("mono2_u12_window", "DX", "MONOCHROME2", 12, False, (2048, 3000), None),
        ("mono2_u12_minmax", "CR", "MONOCHROME2", 12, False, None, None),
        ("mono2_u16_rescale_window", "DX", "MONOCHROME2", 16, False, (10000, 20000),
         (0.5, -100.0)),
        ("mono2_s12_window", "DX", "MONOCHROME2", 12, True, (0, 3000), None),
        ("mono2_s16_rescale_window", "CR", "MONOCHROME2", 16, True, (-24, 50000),
         (1.0, -1024.0)),
        ("mono2_s16_minmax", "DX", "MONOCHROME2", 16, True, None, None),
        ("mono1_u12_window", "CR", "MONOCHROME1", 12, False, (2048, 2500), None),
        ("mono1_u16_minmax", "DX", "MONOCHROME1", 16, False, None, None),
        ("mono1_s16_rescale_window", "DX", "MONOCHROME1", 16, True, (100, 40000),
         (2.0, 10.0)),
    ]
    for seed, (name, modality, photometric, stored, signed, window, rescale) in enumerate(specs):
        img = phantom(seed)
        px = stored_pixels(img, stored, signed, invert=photometric == "MONOCHROME1")
        ds = base_dataset(name, modality, photometric, stored, signed, px, seed)
        if window is not None:
            ds.WindowCenter, ds.WindowWidth = window
        if rescale is not None:
            ds.RescaleSlope, ds.RescaleIntercept = rescale
            ds.RescaleType = "US"
        ds.save_as(path(name), write_like_original=False)
        good(name)

    # Several windows: the first is used.
    img = phantom(20)
    ds = base_dataset("mono2_u12_two_windows", "DX", "MONOCHROME2", 12, False,
                      stored_pixels(img, 12, False, False), 20)
    ds.WindowCenter = [1800, 2500]
    ds.WindowWidth = [1200, 4000]
    ds.save_as(path("mono2_u12_two_windows"), write_like_original=False)
    good("mono2_u12_two_windows")

    # VOI LUT sequence (a gamma curve), preferred over the window that is also there.
    ds = base_dataset("mono2_u12_voi_lut", "DX", "MONOCHROME2", 12, False,
                      stored_pixels(phantom(21), 12, False, False), 21)
    ds.WindowCenter, ds.WindowWidth = 100, 50
    item = Dataset()
    first, entries, lut_bits = 256, 3584, 12
    item.LUTDescriptor = [entries, first, lut_bits]
    lut = np.round((np.linspace(0, 1, entries) ** 0.6) * (2 ** lut_bits - 1)).astype(np.uint16)
    item.LUTData = lut.tolist()
    item["LUTDescriptor"].VR = "US"
    item["LUTData"].VR = "US"
    item.LUTExplanation = "GAMMA 0.6"
    ds.VOILUTSequence = [item]
    ds.save_as(path("mono2_u12_voi_lut"), write_like_original=False)
    good("mono2_u12_voi_lut")

    # ---- Transfer syntaxes, re-encoded by DCMTK from the uncompressed files.
    conversions = [
        ("implicit_mono2_u12", "mono2_u12_window", ["dcmconv", "+ti"]),
        ("deflate_mono1_u12", "mono1_u12_window", ["dcmconv", "+td"]),
        ("jpeg_baseline_mono2_u8", "mono2_u8_window", ["dcmcjpeg", "+eb"]),
        ("jpeg_extended_mono2_u12", "mono2_u12_window", ["dcmcjpeg", "+ee"]),
        ("jpeg_lossless_mono2_u16", "mono2_u16_rescale_window", ["dcmcjpeg", "+el"]),
        ("jpeg_lossless_sv1_mono1_u12", "mono1_u12_window", ["dcmcjpeg", "+e1"]),
        ("jpeg_lossless_sv1_s16", "mono2_s16_rescale_window", ["dcmcjpeg", "+e1"]),
        ("jpegls_lossless_mono2_u12", "mono2_u12_minmax", ["dcmcjpls", "+el"]),
        ("jpegls_near_mono2_u16", "mono2_u16_rescale_window", ["dcmcjpls", "+en"]),
        ("rle_mono2_s16", "mono2_s16_minmax", ["dcmcrle"]),
        ("rle_mono1_u16", "mono1_u16_minmax", ["dcmcrle"]),
        ("rle_mono2_u8", "mono2_u8_minmax", ["dcmcrle"]),
    ]
    for name, source, cmd in conversions:
        run(cmd + [path(source), path(name)])
        # Lossy syntaxes: the reference is pydicom's decode of the same lossy file.
        good(name, source=source)

    # A caller's VOI choice (ExplainOptions.dicom_voi, `infer --dicom-voi`): pydicom
    # renders a copy of the file that has only the chosen window (or none: min-max).
    # "voi" is the decoder's option, "voi_flag" the client's flag, "dcmj2pnm" DCMTK's.
    def chosen(name, source, keep_window, **voi):
        ds = pydicom.dcmread(path(source))
        for keyword in ("VOILUTSequence", "WindowCenter", "WindowWidth"):
            if keyword in ds:
                delattr(ds, keyword)
        if keep_window is not None:
            ds.WindowCenter, ds.WindowWidth = keep_window
        tmp = os.path.join(out, name + ".tmp")
        ds.save_as(tmp, write_like_original=False)
        cv2.imwrite(os.path.join(out, name + ".ref.png"), reference(tmp))
        os.remove(tmp)
        cases.append(dict(name=name, file=source + ".dcm", reference=name + ".ref.png", **voi))

    chosen("voi_explicit_window", "mono2_u12_voi_lut", (1500, 1000), voi=dict(window=[1500, 1000]),
           voi_flag="1500,1000", dcmj2pnm=["+Ww", "1500", "1000"])
    chosen("voi_second_window", "mono2_u12_two_windows", (2500, 4000),
           voi=dict(window_number=2), voi_flag="window:2", dcmj2pnm=["+Wi", "2"])
    chosen("voi_min_max", "mono2_u12_voi_lut", None, voi=dict(min_max=True), voi_flag="minmax",
           dcmj2pnm=["+Wm"])
    # The first VOI LUT by number: the file's own choice, so its own reference.
    cases.append(dict(name="voi_first_lut", file="mono2_u12_voi_lut.dcm",
                      reference="mono2_u12_voi_lut.ref.png", voi=dict(voi_lut_number=1),
                      voi_flag="lut:1", dcmj2pnm=["+Wl", "1"]))

    # ---- Unsupported and broken files, each with the error it must get.
    # JPEG 2000: a syntax DCMTK 3.6.7 has no decoder for (the stream is a stub; the
    # syntax is refused before any decoding).
    ds = pydicom.dcmread(path("mono2_u12_window"))
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\0" * 60])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.save_as(path("unsupported_jpeg2000"), write_like_original=False)
    bad("unsupported_jpeg2000", "INVALID_ARGUMENT",
        "unsupported DICOM transfer syntax JPEG 2000")

    ds = pydicom.dcmread(path("mono2_u8_minmax"))
    ds.NumberOfFrames = 2
    ds.PixelData = ds.PixelData * 2
    ds.save_as(path("unsupported_multiframe"), write_like_original=False)
    bad("unsupported_multiframe", "INVALID_ARGUMENT",
        "unsupported multi-frame DICOM: NumberOfFrames (0028,0008) is 2")

    ds = pydicom.dcmread(path("mono2_u8_minmax"))
    rgb = np.repeat(np.frombuffer(ds.PixelData, np.uint8).reshape(ROWS, COLS, 1), 3, axis=2)
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.PixelData = rgb.tobytes()
    ds.save_as(path("unsupported_rgb"), write_like_original=False)
    bad("unsupported_rgb", "INVALID_ARGUMENT",
        'unsupported DICOM PhotometricInterpretation (0028,0004) "RGB" with SamplesPerPixel 3')

    ds = pydicom.dcmread(path("mono2_u12_window"))
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 32, 32, 31
    ds.PixelData = np.zeros((ROWS, COLS), np.uint32).tobytes()
    ds.save_as(path("unsupported_32bit"), write_like_original=False)
    bad("unsupported_32bit", "INVALID_ARGUMENT",
        "unsupported DICOM BitsAllocated (0028,0100) 32: must be 8 or 16")

    ds = pydicom.dcmread(path("mono2_u12_window"))
    del ds.PixelData
    ds.save_as(path("missing_pixel_data"), write_like_original=False)
    bad("missing_pixel_data", "INVALID_ARGUMENT", "DICOM has no Pixel Data (7FE0,0010)")

    ds = pydicom.dcmread(path("mono2_u12_window"))
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    ds.save_as(path("wrong_length"), write_like_original=False)
    bad("wrong_length", "INVALID_ARGUMENT",
        "truncated or corrupt DICOM: Pixel Data (7FE0,0010) has %d bytes, Rows x Columns x "
        "BitsAllocated need %d" % (ROWS * COLS, ROWS * COLS * 2))

    with open(path("mono2_u12_window"), "rb") as f:
        whole = f.read()
    with open(path("truncated"), "wb") as f:
        f.write(whole[: len(whole) - 3000])
    bad("truncated", "INVALID_ARGUMENT", "truncated or corrupt DICOM")

    with open(path("truncated_header"), "wb") as f:
        f.write(whole[:200])
    bad("truncated_header", "INVALID_ARGUMENT", "truncated or corrupt DICOM")

    with open(path("jpeg_lossless_sv1_mono1_u12"), "rb") as f:
        jpeg = f.read()
    with open(path("truncated_jpeg_lossless"), "wb") as f:
        f.write(jpeg[: len(jpeg) - 1500])
    bad("truncated_jpeg_lossless", "INVALID_ARGUMENT", "truncated or corrupt DICOM")

    ds = pydicom.dcmread(path("mono2_u12_window"))
    del ds.Rows
    ds.save_as(path("missing_rows"), write_like_original=False)
    bad("missing_rows", "INVALID_ARGUMENT", "DICOM attribute Rows (0028,0010) is missing")

    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print("make_dicom_cases: %d cases in %s" % (len(cases), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
