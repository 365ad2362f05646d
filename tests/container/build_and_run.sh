#!/usr/bin/env bash
# Build the shipped Containerfile and smoke-test `router serve` in it, on a machine that reaches
# PyPI and Debian but no container registry: the base is a local bookworm + python3-venv image made
# with mmdebstrap (host CA certs baked in), passed as BASE_IMAGE. Needs root, apt, podman + runc.
#
#   tests/container/build_and_run.sh          install if missing, base, build, run, probe, clean up
#   tests/container/build_and_run.sh clean    delete the state (image store, base tarball)
#
# Env: CI_CONTAINER_STATE (default ~/.cache/router-container, kept: base and layer cache reused),
# PORT (default: a free loopback port), WORKTREE=1 builds the work tree instead of committed HEAD.
# Prints TIMING lines and ends with "PASS" (exit 0) or "FAIL: <why>" (exit 1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${CI_CONTAINER_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/router-container}
BASE=localhost/ci-python-base:bookworm IMAGE=localhost/router:ci NAME=router-ci
# The mirror is the one this machine's apt already uses (read from its sources, not written here).
# (grep exits 2 when one of the files is missing: under pipefail that must not end the script.)
apt_mirror() { { grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } \
  | awk '{print $2}' | grep -v security | head -n1; }
MIRROR=${DEBIAN_MIRROR:-$(apt_mirror)}
LIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
# crun refuses these hosts' hybrid cgroups -> runc; private store and tmpdir; overlay (vfs is 4x slower).
P=(podman --runtime runc --cgroup-manager cgroupfs --storage-driver overlay --root "$STATE/podman/root"
   --runroot "$STATE/podman/run" --tmpdir "$STATE/podman/tmp")

fail() { echo "FAIL: $*"; exit 1; }
timed() {  # timed LABEL CMD...
  local label=$1 t0=$SECONDS; shift
  "$@" || fail "$label (see above)"
  echo "TIMING $label $((SECONDS - t0)) s"
}

if [ "${1:-}" = clean ]; then "${P[@]}" system reset -f >/dev/null 2>&1 || true; rm -rf "$STATE"; exit 0; fi
mkdir -p "$STATE"
# One run at a time per state directory: two test suites at once would share the image store
# and remove each other's container (same name).
exec 9>"$STATE/lock"; flock 9

install_pkgs() {
  local need=() c
  for c in mmdebstrap curl podman runc; do command -v "$c" >/dev/null || need+=("$c"); done
  [ ${#need[@]} -eq 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

base_image() {  # reuse the imported image, else the tarball, else build the tarball
  "${P[@]}" image exists "$BASE" && { echo "$BASE present"; return 0; }
  if [ ! -s "$STATE/base.tar" ]; then
    mmdebstrap --mode=root --variant=minbase --format=tar --include=python3-venv,ca-certificates \
      --aptopt='APT::Install-Recommends "false"' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --customize-hook='for f in /usr/local/share/ca-certificates/*.crt; do [ -e "$f" ] && cp "$f" "$1/usr/local/share/ca-certificates/"; done; chroot "$1" update-ca-certificates' \
      bookworm "$STATE/base.tar.part" "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
      "deb ${MIRROR%/debian}/debian-security bookworm-security main" >"$STATE/mmdebstrap.log" 2>&1 \
      || { tail -20 "$STATE/mmdebstrap.log"; return 1; }
    mv "$STATE/base.tar.part" "$STATE/base.tar"
  fi
  "${P[@]}" import -q --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' "$STATE/base.tar" "$BASE" >/dev/null
}

build() {  # --format docker: podman's default OCI format silently drops HEALTHCHECK
  local ctx=$ROOT
  if [ "${WORKTREE:-0}" != 1 ] && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    ctx=$STATE/src; rm -rf "$ctx"; git clone -q "$ROOT" "$ctx"   # committed files only
  fi
  "${P[@]}" build --format docker "${LIMITS[@]}" --build-arg "BASE_IMAGE=$BASE" -t "$IMAGE" \
    -f "$ctx/Containerfile" "$ctx" >"$STATE/build.log" 2>&1 || { tail -30 "$STATE/build.log"; return 1; }
  grep -m1 'routes.toml: OK' "$STATE/build.log" || echo "router check: step cached (passed before)"
}

cleanup() { "${P[@]}" rm -f -v -t 10 "$NAME" >/dev/null 2>&1 || true; }

start() {
  cleanup; trap cleanup EXIT
  # The systemd-timer errors about healthchecks are expected without systemd; `healthcheck run` works.
  "${P[@]}" run -d --name "$NAME" "${LIMITS[@]}" -p "127.0.0.1:$PORT:8080" "$IMAGE" >"$STATE/run.log" 2>&1 \
    || { cat "$STATE/run.log"; return 1; }
  for _ in $(seq 1 300); do curl -fsS "$URL/health" >/dev/null 2>&1 && return 0; sleep 0.1; done
  "${P[@]}" logs "$NAME" 2>&1 | tail -20; return 1
}

PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 18310)}
URL=http://127.0.0.1:$PORT
timed install install_pkgs
timed base base_image
timed build build
timed start start

# Bound to 0.0.0.0 with no client keys: the router generated one and printed it once.
LOG=$("${P[@]}" logs "$NAME" 2>/dev/null)
KEY=$(grep -oE 'rk-[A-Za-z0-9_-]+' <<<"$LOG" | head -1); [ -n "$KEY" ] || fail "no generated key in the container log"
echo "generated key from log: ${KEY:0:6}..."
BODY='{"model":"demo","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}'
post() { curl -sS -o "$STATE/resp.json" -w '%{http_code}' -H 'content-type: application/json' \
  -H 'anthropic-version: 2023-06-01' "$@" -d "$BODY" "$URL/v1/messages"; }
code=$(post); echo "no key:   HTTP $code $(cat "$STATE/resp.json")"
[ "$code" = 401 ] || fail "request without x-api-key gave $code, want 401"
code=$(post -H "x-api-key: $KEY"); echo "with key: HTTP $code $(cat "$STATE/resp.json")"
[ "$code" = 200 ] || fail "request with the generated key gave $code, want 200"
python3 - "$STATE/resp.json" <<'EOF' || fail "response is not an Anthropic message with text 'Echo: hi'"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["type"] == "message" and m["role"] == "assistant", m
assert [b["text"] for b in m["content"] if b["type"] == "text"] == ["Echo: hi"], m
EOF
uid=$("${P[@]}" exec "$NAME" id -u) || fail "podman exec failed"
echo "uid in container: $uid"; [ "$uid" != 0 ] || fail "router runs as root"
"${P[@]}" healthcheck run "$NAME" 2>/dev/null || fail "HEALTHCHECK did not pass"
echo "healthcheck: $("${P[@]}" inspect "$NAME" --format '{{.State.Health.Status}}')"
# (Outputs go through variables: `cmd | grep -q` fails under pipefail when grep stops reading early.)
METRICS=$(curl -fsS "$URL/metrics") || fail "GET /metrics failed"
grep -m1 '^router_requests_total{.*status="200"' <<<"$METRICS" || fail "/metrics does not count the request"
LOG=$("${P[@]}" logs "$NAME" 2>&1)
grep -m1 '"path":"/v1/messages".*"status":200' <<<"$LOG" || fail "no access-log line for the request in the container log"
# SIGTERM must end it gracefully and quickly (no drain delay configured), not by the SIGKILL
# the runtime sends after -t.
t0=$SECONDS; "${P[@]}" stop -t 20 "$NAME" >/dev/null || fail "podman stop failed"
took=$((SECONDS - t0)); echo "TIMING stop $took s"
[ "$took" -lt 10 ] || fail "SIGTERM took ${took}s: the router did not handle it"
LOG=$("${P[@]}" logs "$NAME" 2>&1)
grep -m1 'Application shutdown complete' <<<"$LOG" || { tail -5 <<<"$LOG"; fail "no graceful shutdown in the log"; }
t0=$SECONDS; cleanup; trap - EXIT; echo "TIMING rm $((SECONDS - t0)) s"
echo PASS
