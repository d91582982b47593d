#!/usr/bin/python3
"""--decode=fast against --decode=exact: heatmap and probability differences and decode
time on real-size JPEG radiographs. Starts two explainer-servers (same bundle), sends each
image with return_raw_heatmap to both and prints the per-image and worst differences.

usage: decode_fidelity.py --server BIN --model BUNDLE --images DIR [--scales 1,2,2.5]
Images: every .jpeg/.jpg in DIR, and each upscaled by the given factors (INTER_CUBIC,
re-encoded at quality 95) to reach BTXRD's 1000-3500 px.
"""
import argparse, glob, os, re, subprocess, sys, tempfile, time
import numpy as np, cv2, grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

def stubs(out):
    subprocess.run(["protoc", "-I" + os.path.join(ROOT, "proto"), "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                    "--python_out=" + out, "--grpc_out=" + out,
                    os.path.join(ROOT, "proto/explainer/v1/explainer.proto")], check=True)
    sys.path.insert(0, out)
    from explainer.v1 import explainer_pb2, explainer_pb2_grpc
    return explainer_pb2, explainer_pb2_grpc

def start(binary, model, flags, log):
    p = subprocess.Popen([binary, "--address=127.0.0.1:0", "--model=" + model] + flags,
                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
    for _ in range(1800):
        line = open(log).readline()
        m = re.search(r" at 127\.0\.0\.1:(\d+)$", line.strip())
        if m:
            return p, "127.0.0.1:" + m.group(1)
        if p.poll() is not None:
            break
        time.sleep(0.1)
    sys.exit("server did not start: " + open(log).read())

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True); ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True); ap.add_argument("--scales", default="1,2,2.5")
    ap.add_argument("--flags", default="", help="extra server flags, space separated")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    pb, pbg = stubs(tmp)
    files = sorted(glob.glob(os.path.join(a.images, "*.jp*g")))
    images = []
    for f in files:
        img = cv2.imread(f, cv2.IMREAD_UNCHANGED)
        for s in [float(x) for x in a.scales.split(",")]:
            if s == 1:
                data = open(f, "rb").read()
                big = img
            else:
                big = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
                data = cv2.imencode(".jpeg", big, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
            images.append((f"{os.path.basename(f)}@{s}", big.shape[1], big.shape[0], data))
    servers = {}
    extra = a.flags.split()
    for mode in ("exact", "fast"):
        servers[mode] = start(a.server, a.model, ["--decode=" + mode, "--threads=1", "--workers=1"] + extra,
                              os.path.join(tmp, mode + ".log"))
    results = {}
    try:
        for mode, (_, address) in servers.items():
            stub = pbg.ExplainerStub(grpc.insecure_channel(address, options=[
                ("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]))
            for name, w, h, data in images:
                req = pb.ExplainRequest(request_id=name, image=data,
                                        options=pb.ExplainOptions(return_raw_heatmap=True))
                r = stub.ExplainImage(req, timeout=120)
                if r.HasField("error"):
                    sys.exit(f"{mode} {name}: {r.error.message}")
                res = r.result
                hm = np.array(res.heatmap.values, np.float32)
                probs = np.array([p.probability for p in res.probabilities], np.float32)
                results[(mode, name)] = (hm, probs, res.predicted_index, res.timings.decode_ms,
                                         res.timings.preprocess_ms, (res.original_width, res.original_height))
    finally:
        for p, _ in servers.values():
            p.terminate(); p.wait()
    worst_h = worst_p = 0.0
    flips = 0
    dec = {"exact": [], "fast": []}
    print(f"{'image':28s} {'size':>11s} {'max|dheat|':>11s} {'mean|dheat|':>11s} {'max|dprob|':>10s}  decode ms exact/fast")
    for name, w, h, _ in images:
        he, pe, ie, de, _, se = results[("exact", name)]
        hf, pf, i_f, df, _, sf = results[("fast", name)]
        assert se == sf == (w, h), (se, sf, w, h)
        dh = np.abs(he - hf); dp = np.abs(pe - pf)
        worst_h = max(worst_h, dh.max()); worst_p = max(worst_p, dp.max()); flips += ie != i_f
        dec["exact"].append(de); dec["fast"].append(df)
        print(f"{name:28s} {w:5d}x{h:<5d} {dh.max():11.2e} {dh.mean():11.2e} {dp.max():10.2e}  {de:7.1f} / {df:6.1f}")
    print(f"{len(images)} images: worst heatmap |diff| {worst_h:.3e}, worst probability |diff| {worst_p:.3e}, "
          f"predicted class changed on {flips}; median decode ms exact {np.median(dec['exact']):.1f}, "
          f"fast {np.median(dec['fast']):.1f}")
    print("bar (heatmaps within 1e-4 of exact):", "MET" if worst_h <= 1e-4 else "NOT MET")

if __name__ == "__main__":
    main()
