#!/bin/sh
# Installs the PyTorch CPU peer for the benchmarks (bench/peers/torch/). Debian ships PyTorch 1.13.1 (CPU,
# AVX2, oneDNN) with OpenBLAS. Never run by `npm ci`, `npm test` or CI: speed lives in benchmarks only.
# Usage: sh bench/setup-torch.sh   (as root, or with sudo)
set -e
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends python3 python3-torch libopenblas0-pthread
# the suites look for torch in /usr/bin/python3 first (a pyenv/venv python3 on PATH will not see the Debian package)
/usr/bin/python3 -c "import torch; print('torch', torch.__version__, 'threads', torch.get_num_threads())"
