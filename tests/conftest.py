import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def run(*args, **kw):
    "Run a command, capturing its text output."
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)

@pytest.fixture(scope='session')
def mnist_raw():
    "The real, verified MNIST raw folder (tools/test.sh fetches it before pytest runs)."
    from rae_nb.data import IDX_DATASETS, check_files, data_root
    raw = data_root()/'MNIST'/'raw'
    bad = check_files(raw, IDX_DATASETS['mnist'].md5s)
    assert not bad, 'real MNIST is needed: run `rae-nb data mnist` first\n' + '\n'.join(bad)
    return raw
