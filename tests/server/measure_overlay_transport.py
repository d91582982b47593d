#!/usr/bin/python3
"""Which heatmap transport lets a client render the server's overlay, and what the
overlay PNG costs to encode. Independent of our C++: NumPy + cv2 as pytorch-grad-cam's
show_cam_on_image does it.

1. A Grad-CAM-like 224x224 map (7x7 uniform noise, bilinear up, min-max) is sent as
   float32 (exact), float16, 8-bit PNG (np.uint8(255 * cam), what heatmap_png holds),
   8-bit centred ((g + 0.5) / 255) or 16-bit; each is resized to a 1000x1200 image and
   overlaid; prints the largest and how often a channel differs by more than one level
   from the float32 overlay.
2. PNG encode time and size of a 1000x1000 radiograph-like overlay at OpenCV's default
   (what --png_compression=-1 selects) and zlib levels 0, 1, 3, 6.
usage: measure_overlay_transport.py   (Debian's python3-opencv, numpy)
"""
import time
import cv2
import numpy as np


def show_cam_on_image(img, mask, image_weight=0.5):
    heat = cv2.cvtColor(cv2.applyColorMap(np.uint8(255 * mask), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    cam = (1 - image_weight) * (np.float32(heat) / 255) + image_weight * img
    return np.uint8(255 * (cam / np.max(cam)))


def transports():
    rng = np.random.default_rng(0)
    for trial in range(3):
        cam = cv2.resize(rng.random((7, 7)).astype(np.float32), (224, 224))
        cam = ((cam - cam.min()) / (cam.max() + 1e-7)).astype(np.float32)
        h, w = 1200, 1000
        img = np.float32(rng.integers(0, 256, (h, w, 3)).astype(np.uint8)) / 255
        overlay = lambda c: show_cam_on_image(img, np.clip(cv2.resize(c, (w, h)), 0, 1))
        ref = overlay(cam)
        g8 = np.uint8(255 * cam)
        for name, c in [("float16", cam.astype(np.float16).astype(np.float32)),
                        ("8-bit", g8.astype(np.float32) / 255),
                        ("8-bit centred", (g8.astype(np.float32) + 0.5) / 255),
                        ("16-bit", np.round(cam * 65535).astype(np.float32) / 65535),
                        ("float32", cam)]:
            d = np.abs(overlay(c).astype(int) - ref.astype(int))
            print(f"trial {trial} {name:14s} max {d.max()} levels, > 1 level on {100 * (d > 1).mean():.2f}% "
                  f"of channel values")


def png_costs():
    rng = np.random.default_rng(0)
    h = w = 1000
    cam = np.clip(cv2.resize(cv2.resize(rng.random((7, 7)).astype(np.float32), (224, 224)), (w, h)), 0, 1)
    base = cv2.normalize(cv2.GaussianBlur(rng.integers(0, 256, (h, w)).astype(np.uint8), (0, 0), 8),
                         None, 0, 255, cv2.NORM_MINMAX)
    gray = np.clip(base + rng.normal(0, 3, (h, w)), 0, 255).astype(np.uint8)
    rgb = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    overlay = cv2.cvtColor(show_cam_on_image(np.float32(rgb) / 255, cam), cv2.COLOR_RGB2BGR)
    for name, params in [("fast (default)", []), ("level 0", [cv2.IMWRITE_PNG_COMPRESSION, 0]),
                         ("level 1", [cv2.IMWRITE_PNG_COMPRESSION, 1]),
                         ("level 3", [cv2.IMWRITE_PNG_COMPRESSION, 3]),
                         ("level 6", [cv2.IMWRITE_PNG_COMPRESSION, 6])]:
        n = 5
        t = time.perf_counter()
        for _ in range(n):
            png = cv2.imencode(".png", overlay, params)[1]
        print(f"PNG {name:15s} {1e3 * (time.perf_counter() - t) / n:6.1f} ms  {len(png) // 1024} KB")


if __name__ == "__main__":
    transports()
    png_costs()
