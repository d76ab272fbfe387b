#!/bin/sh
# Installs what the Python model tools need (Debian packages) and checks that torch's BLAS is fast.
# Debian's python3-torch uses the generic BLAS interface; without libopenblas0-pthread it falls back to
# the reference BLAS, about 15x slower. Usage: tools/setup.sh  (as root, or with sudo available)
set -eu

PACKAGES="python3-torch python3-onnx python3-numpy python3-pil python3-pytest python3-scipy python3-jsonschema libopenblas0-pthread"

missing=""
for package in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done

if [ -n "$missing" ]; then
  echo "installing:$missing"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
else
  echo "all packages present: $PACKAGES"
fi

/usr/bin/python3 - <<'PY'
import time

import torch

a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
a @ b
start = time.perf_counter()
for _ in range(5):
    a @ b
seconds = (time.perf_counter() - start) / 5
print(f"torch {torch.__version__}: 1024x1024 fp32 matmul {seconds * 1000:.1f} ms with {torch.get_num_threads()} threads")
if seconds >= 0.1:
    raise SystemExit("matmul too slow (>= 0.1 s): torch is not using OpenBLAS; install libopenblas0-pthread")
PY
