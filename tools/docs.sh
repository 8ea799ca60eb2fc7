#!/usr/bin/env bash
# Build the docs site into _docs/ (open _docs/index.html). With Quarto installed, `nbdev_docs` builds the same site.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python tools/docs.py site
echo "docs: open $PWD/_docs/index.html"
