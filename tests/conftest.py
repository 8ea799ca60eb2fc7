import contextlib, io, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SMOKE_TRAIN = ['train', '--model', 'rae-l2', '--dataset', 'mnist', '--preset', 'smoke', '--quiet']

def run(*args, **kw):
    "Run a command, capturing its text output (only where the process boundary is what is tested: `cli` runs `rae-nb` in-process)."
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)

def cli(*argv) -> tuple[int, str, str]:
    "Run `rae-nb ARGV` in-process through `rae_nb.cli.main`: (exit status, stderr, stdout)."
    from rae_nb.cli import main
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()) as out:
        try: code = main([str(a) for a in argv])
        except SystemExit as e: code = e.code
    return code, err.getvalue(), out.getvalue()

@pytest.fixture(scope='session')
def mnist_raw():
    "The real, verified MNIST raw folder (tools/test.sh fetches it before pytest runs)."
    from rae_nb.data import IDX_DATASETS, check_files, data_root
    raw = data_root()/'MNIST'/'raw'
    bad = check_files(raw, IDX_DATASETS['mnist'].md5s)
    assert not bad, 'real MNIST is needed: run `rae-nb data mnist` first\n' + '\n'.join(bad)
    return raw

@pytest.fixture(scope='session')
def smoke_run(tmp_path_factory) -> Path:
    "One finished `rae-nb train` smoke run (RAE-L2 on MNIST), made once per test session: read it, or copy it before changing anything."
    out = tmp_path_factory.mktemp('smoke')/'run'
    code, err, _ = cli(*SMOKE_TRAIN, '--out', out)
    assert code == 0, err
    return out

@pytest.fixture
def stand_in_fid_network(monkeypatch):
    "`rae-nb reproduce` with the test stand-in for the FID network (rae_nb.testing.stand_in_network), its network id returned: for tests of the plumbing, not of FID values."
    import rae_nb.reproduce
    from rae_nb.testing import stand_in_network
    net, network_id = stand_in_network()
    monkeypatch.setattr(rae_nb.reproduce, 'fid_network', lambda device='cpu', **kw: (net, network_id)) # kw: job_network's compile choice
    return network_id
