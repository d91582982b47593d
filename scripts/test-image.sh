#!/usr/bin/env bash
# Builds the CPU image (deploy/container/Containerfile) from Debian packages only and
# checks that its server answers: grpc.health.v1 SERVING (through the image's own
# HEALTHCHECK command) and one ExplainImage, over the wire.
#
#   scripts/test-image.sh [--fresh-base] [--worktree] [--jobs=N] [--keep] [--reuse-image]
#
# --reuse-image skips steps 1-2 and checks the image the last run built.
#
# Steps, each timed:
#   1. base:  a bookworm root filesystem made by mmdebstrap from the package archive
#             (no registry is needed), imported with `podman import`. Cached in
#             $EXPLAINER_IMAGE_WORK (default /tmp/explainer-image) unless --fresh-base.
#   2. build: `buildah bud --isolation chroot` of the Containerfile, BASE = that image.
#             The context is `git archive HEAD` (committed sources only), or the
#             working tree with --worktree.
#   3. run:   the server inside the image's root filesystem (`buildah run --isolation
#             chroot`, as the image's user; podman cannot start containers in some
#             sandboxes), on loopback ports, until it prints its start-up line.
#   4. check: the image's HEALTHCHECK command, then ExplainImage as raw gRPC over
#             HTTP/2 (curl --http2-prior-knowledge; protoc encodes and decodes).
#   5. ro:    the image's root bind-mounted read-only with a tmpfs /tmp, the server
#             chrooted into it as uid 10001 with --log_format=json: same checks.
# Needs root (or a working rootless buildah), mmdebstrap, buildah, podman, curl,
# protoc and network access to the Debian archive. Slow (tens of minutes on 2 cores:
# the build stage compiles the server against LibTorch), so it is not part of ctest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${EXPLAINER_IMAGE_WORK:-/tmp/explainer-image}"
fresh_base=0
context_mode=head
jobs=2
keep=0
reuse_image=0
for arg in "$@"; do
  case "$arg" in
    --fresh-base) fresh_base=1 ;;
    --worktree) context_mode=worktree ;;
    --jobs=*) jobs="${arg#--jobs=}" ;;
    --keep) keep=1 ;;
    --reuse-image) reuse_image=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "test-image: unknown argument $arg" >&2; exit 2 ;;
  esac
done
for tool in mmdebstrap buildah podman curl protoc git; do
  command -v "$tool" >/dev/null || { echo "test-image: $tool is missing (scripts/install-deps.sh)" >&2; exit 2; }
done

base_image=localhost/explainer-base:bookworm
image=localhost/explainer:cpu-test
mkdir -p "$work"
log="$work/test-image.log"
: > "$log"
t_start=$(date +%s)
step_start=$t_start
step() {  # step NAME: ends the previous step, prints its time
  local now; now=$(date +%s)
  printf 'test-image: %-6s %4d s\n' "$1" "$((now - step_start))"
  step_start=$now
}
fail() { echo "test-image: FAIL: $*" >&2; echo "test-image: log: $log" >&2; exit 1; }

# ---- 1. base
if [ "$reuse_image" = 1 ]; then
  podman image exists "$image" || fail "--reuse-image: no $image yet"
elif [ "$fresh_base" = 1 ] || ! podman image exists "$base_image"; then
  if [ "$fresh_base" = 1 ] || [ ! -s "$work/base.tar" ]; then
    rm -f "$work/base.tar"
    nice -n 15 mmdebstrap --variant=minbase --include=ca-certificates bookworm \
      "$work/base.tar" http://deb.debian.org/debian >>"$log" 2>&1 \
      || fail "mmdebstrap (see log)"
  fi
  podman import --change 'CMD ["/bin/bash"]' "$work/base.tar" "$base_image" >>"$log" 2>&1 \
    || fail "podman import"
fi
step base

# ---- 2. build
if [ "$reuse_image" = 0 ]; then
context="$work/context"
rm -rf "$context"
mkdir -p "$context"
if [ "$context_mode" = head ]; then
  git -C "$root" archive HEAD | tar -x -C "$context"
else
  tar -C "$root" --exclude-from="$root/.dockerignore" -cf - . | tar -x -C "$context"
fi
nice -n 15 buildah bud --isolation chroot --format docker --layers \
  --build-arg BASE="$base_image" --build-arg JOBS="$jobs" \
  -f "$context/deploy/container/Containerfile" -t "$image" "$context" >>"$log" 2>&1 \
  || fail "buildah bud (see log)"
fi
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "test-image: image $image, $((size / 1024 / 1024)) MiB"
config=$(podman image inspect --format '{{json .Config.Healthcheck}} {{json .Config.ExposedPorts}}' "$image")
echo "$config" | grep -q '"CMD","explainer-server","--health_check"' \
  || fail "image HEALTHCHECK is not the server's --health_check: $config"
echo "$config" | grep -q '"50051/tcp"' && echo "$config" | grep -q '"9464/tcp"' \
  || fail "image does not expose 50051 and 9464: $config"
step build

# ---- 3. run: the image's entrypoint and user, loopback ports picked free now
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ctr=$(buildah from --pull-never "$image")
ro="$work/rootfs-ro"
cleanup() {
  stop_server
  mountpoint -q "$ro" 2>/dev/null && umount "$ro/dev" "$ro/proc" "$ro/tmp" "$ro" 2>/dev/null
  buildah umount "$ctr" >/dev/null 2>&1 || true
  [ "$keep" = 1 ] || buildah rm "$ctr" >/dev/null 2>&1 || true
}
stop_server() {
  if [ -n "${server_pid:-}" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true  # buildah run reports the signal as status 1
    server_pid=
  fi
  return 0
}
trap cleanup EXIT
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[ "$user" = "10001:10001" ] || fail "image user is '$user', expected 10001:10001"
out="$work/server.out"
wait_started() {  # the start-up line on $out
  for _ in $(seq 1 240); do
    grep -q "serving model" "$out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited: $(tail -3 "$log")"
    sleep 0.5
  done
  grep -q "serving model" "$out" || fail "no start-up line in 120 s"
  cat "$out"
}
req="$work/request.bin"
python3 - "$root/tests/data/common/golden/input_37x29.png" "$req" <<'PY'
import struct, sys
image = open(sys.argv[1], "rb").read()
def field(number, data):  # length-delimited protobuf field
    key, n, size = bytes([number << 3 | 2]), len(data), b""
    while True:
        size += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)]); n >>= 7
        if not n: break
    return key + size + data
message = field(1, b"image-test") + field(2, image)  # ExplainRequest
open(sys.argv[2], "wb").write(b"\x00" + struct.pack(">I", len(message)) + message)
PY
check_explain_image() {  # one ExplainImage as raw gRPC, and /metrics counting it
  curl -sS --http2-prior-knowledge --max-time 60 -X POST \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary @"$req" -D "$work/headers.txt" -o "$work/response.bin" \
    "http://127.0.0.1:$port/explainer.v1.Explainer/ExplainImage" \
    || fail "ExplainImage: curl failed"
  grep -qi '^grpc-status: 0' "$work/headers.txt" || fail "ExplainImage: $(grep -i grpc- "$work/headers.txt")"
  decoded=$(tail -c +6 "$work/response.bin" |
    protoc -I"$root/proto" --decode=explainer.v1.ExplainResponse explainer/v1/explainer.proto)
  echo "$decoded" | grep -q 'request_id: "image-test"' || fail "ExplainImage: wrong answer: $decoded"
  echo "$decoded" | grep -q 'predicted_name:' || fail "ExplainImage: no prediction: $decoded"
  echo "test-image: ExplainImage answered: $(echo "$decoded" | grep -m1 predicted_name | xargs)"
  curl -sS --max-time 10 "http://127.0.0.1:$mport/metrics" |
    grep -q 'explainer_items_total{code="OK",rpc="ExplainImage"} 1' \
    || fail "/metrics does not count the ExplainImage"
}

port=$(free_port)
mport=$(free_port)
buildah run --isolation chroot --user "$user" "$ctr" -- \
  explainer-server --address=127.0.0.1:"$port" --metrics_address=127.0.0.1:"$mport" \
  >"$out" 2>>"$log" &
server_pid=$!
wait_started
step run

# ---- 4. check: HEALTHCHECK command (inside the image) and one ExplainImage
buildah run --isolation chroot --user "$user" "$ctr" -- \
  explainer-server --health_check --address=127.0.0.1:"$port" \
  || fail "the image's health check did not report SERVING"
check_explain_image
stop_server
step check

# ---- 5. read-only: the image's root mounted read-only (as readOnlyRootFilesystem
# does in the manifests), only /tmp writable, uid 10001, JSON logs; the same checks.
mnt=$(buildah mount "$ctr")
mkdir -p "$ro"
{ mount --bind "$mnt" "$ro" && mount -o remount,bind,ro "$ro" &&
  mount -t tmpfs -o size=64m tmpfs "$ro/tmp" && mount -t proc proc "$ro/proc" &&
  mount --bind /dev "$ro/dev"; } >>"$log" 2>&1 || fail "cannot mount the image root read-only (needs root)"
touch "$ro/etc/probe" 2>/dev/null && fail "the root is writable"
port=$(free_port)
mport=$(free_port)
run_env=(env -i PATH=/opt/explainer/bin:/usr/bin:/bin HOME=/nonexistent
         EXPLAINER_MODEL=/opt/explainer/models/explainer-demo.pt)
chroot --userspec="$user" "$ro" "${run_env[@]}" explainer-server \
  --address=127.0.0.1:"$port" --metrics_address=127.0.0.1:"$mport" --log_format=json \
  >"$out" 2>>"$log" &
server_pid=$!
wait_started
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$out" \
  || fail "--log_format=json wrote a line that is not JSON"
chroot --userspec="$user" "$ro" "${run_env[@]}" explainer-server --health_check \
  --address=127.0.0.1:"$port" || fail "health check on the read-only root"
check_explain_image
stop_server
step ro
echo "test-image: PASS in $(( $(date +%s) - t_start )) s"
