#!/usr/bin/python3
"""Server memory over many requests: VmRSS after a warm-up, then every --every requests
up to --requests, then after the server has gone idle again. Prints one line per sample
and the end's change against the warm-up baseline (the issue's bar: within 5%).

usage: rss_over_requests.py --server BIN --model BUNDLE --images DIR [--requests 10000]
       [--warmup 500] [--every 1000] [--window 16] [--overlay-every 10] [--flags "..."]
Requests cycle over the JPEGs in DIR on one Explain stream with --window in flight: the
client's default outputs (return_raw_heatmap), and every --overlay-every-th also the
server's overlay PNG (the heaviest allocation). Needs protoc + grpc_python_plugin.
"""
import argparse, glob, os, re, subprocess, sys, tempfile, threading, time, queue

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def stubs(out):
    subprocess.run(["protoc", "-I" + os.path.join(ROOT, "proto"),
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                    "--python_out=" + out, "--grpc_out=" + out,
                    os.path.join(ROOT, "proto/explainer/v1/explainer.proto")], check=True)
    sys.path.insert(0, out)
    from explainer.v1 import explainer_pb2, explainer_pb2_grpc
    return explainer_pb2, explainer_pb2_grpc


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid, quiet_s=1.0):
    """Waits until the server used < 2% CPU over quiet_s (the idle trimmer has run)."""
    while True:
        c = cpu_s(pid); time.sleep(quiet_s)
        if cpu_s(pid) - c < 0.02 * quiet_s:
            return


def run_stream(pb, stub, images, count, window, overlay_every, start_index):
    sem = threading.Semaphore(window)
    answered = [0]
    errors = []

    def requests():
        for i in range(start_index, start_index + count):
            sem.acquire()
            opts = pb.ExplainOptions(return_raw_heatmap=True,
                                     return_overlay_png=overlay_every > 0 and i % overlay_every == 0)
            yield pb.ExplainRequest(request_id=str(i), image=images[i % len(images)], options=opts)

    for r in stub.Explain(requests(), timeout=3600):
        sem.release()
        answered[0] += 1
        if r.HasField("error"):
            errors.append(r.error.message)
    if answered[0] != count or errors:
        sys.exit(f"rss_over_requests: {answered[0]} of {count} answered, errors: {errors[:3]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True); ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--overlay-every", type=int, default=10)
    ap.add_argument("--flags", default="")
    a = ap.parse_args()
    import grpc
    tmp = tempfile.mkdtemp()
    pb, pbg = stubs(tmp)
    images = [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(a.images, "*.jp*g")))]
    if not images:
        sys.exit("rss_over_requests: no JPEGs in " + a.images)
    log = os.path.join(tmp, "server.log")
    proc = subprocess.Popen([a.server, "--address=127.0.0.1:0", "--model=" + a.model] + a.flags.split(),
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        for _ in range(1800):
            m = re.search(r" at 127\.0\.0\.1:(\d+)$", open(log).readline().strip())
            if m or proc.poll() is not None:
                break
            time.sleep(0.1)
        if not m:
            sys.exit("server did not start: " + open(log).read())
        stub = pbg.ExplainerStub(grpc.insecure_channel("127.0.0.1:" + m.group(1), options=[
            ("grpc.max_receive_message_length", 64 << 20)]))
        t0 = time.time()
        run_stream(pb, stub, images, a.warmup, a.window, a.overlay_every, 0)
        settle(proc.pid)
        base = rss_kb(proc.pid)
        print(f"after warm-up ({a.warmup} requests, idle): VmRSS {base / 1024:.1f} MiB", flush=True)
        done = 0
        samples = []
        while done < a.requests:
            n = min(a.every, a.requests - done)
            run_stream(pb, stub, images, n, a.window, a.overlay_every, a.warmup + done)
            done += n
            r = rss_kb(proc.pid)
            samples.append(r)
            print(f"{done:6d} requests: VmRSS {r / 1024:.1f} MiB ({100.0 * (r - base) / base:+.1f}%) "
                  f"busy, {time.time() - t0:.0f} s", flush=True)
        settle(proc.pid)
        end = rss_kb(proc.pid)
        print(f"end, idle: VmRSS {end / 1024:.1f} MiB, {100.0 * (end - base) / base:+.1f}% against the "
              f"warm-up baseline; busy samples {min(samples) / 1024:.1f}..{max(samples) / 1024:.1f} MiB; "
              f"{a.requests} requests in {time.time() - t0:.0f} s")
        print("bar (within 5%):", "MET" if abs(end - base) <= 0.05 * base else "NOT MET")
    finally:
        proc.terminate(); proc.wait()


if __name__ == "__main__":
    main()
