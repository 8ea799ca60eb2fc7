"""Every failure of `rae-nb` a user can cause is one line on stderr with exit status 2, comes before any work, and leaves
the run directory as it was; Ctrl-C during `train` says where it stopped and the exact command that goes on. Most cases
call `rae_nb.cli.main` in-process (conftest's `cli`); the console script's exit status, its imports and Ctrl-C need a real process."""
import json, os, shlex, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
from PIL import Image
from rae_nb.checkpoint import CHECKPOINT, load_checkpoint
from rae_nb.core import LOCK_FILE
from conftest import BIN, SMOKE_TRAIN as TRAIN, cli

ENV = dict(os.environ, OMP_NUM_THREADS='2', MKL_NUM_THREADS='2')

def snapshot(d:Path) -> dict:
    "Every file under `d` (recursively): its bytes and permissions."
    return {str(p.relative_to(d)): (p.read_bytes(), p.stat().st_mode) for p in sorted(Path(d).rglob('*')) if p.is_file()}

def assert_one_line(code, err, says:str):
    assert code == 2, (code, err)
    assert err.endswith('\n') and err.count('\n') == 1 and 'Traceback' not in err, err
    assert says in err, err

@pytest.fixture
def run(smoke_run) -> Path:
    "The session's finished smoke run (conftest), read only: tests that change it work on `copy`."
    return smoke_run

@pytest.fixture
def copy(run, tmp_path) -> Path:
    shutil.copytree(run, tmp_path/'run')
    return tmp_path/'run'

def test_console_script_exit_status_and_one_line_errors():
    "The installed `rae-nb` script starts, and its exit status is main's: 0 for --help, 2 with one line for a bad argument."
    p = subprocess.run([BIN/'rae-nb', '--help'], capture_output=True, text=True, env=ENV)
    assert p.returncode == 0 and 'reproduce' in p.stdout, p.stderr
    p = subprocess.run([BIN/'rae-nb', 'train', '--model', 'rae-xl', '--dataset', 'mnist'], capture_output=True, text=True, env=ENV)
    assert p.returncode == 2 and p.stderr.count('\n') == 1 and "invalid choice: 'rae-xl'" in p.stderr and '--help' in p.stderr

_IMPORTS = """
import sys
from rae_nb.cli import main
for argv in (['--help'], ['train', '--help'], ['train', '--model', 'rae-xl', '--dataset', 'mnist']):
    try: main(argv)
    except SystemExit: pass
print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'PIL')))
"""

def test_help_and_argument_errors_import_no_torch():
    "--help and argument errors are fast because they load nothing heavy: a fresh process that parses them has imported no torch, numpy or PIL."
    p = subprocess.run([sys.executable, '-c', _IMPORTS], capture_output=True, text=True, env=ENV)
    assert p.returncode == 0 and p.stdout.strip().splitlines()[-1] == '[]', p.stdout[-2000:] + p.stderr[-2000:]

@pytest.mark.parametrize('argv, says', [
    (['sample', 'RUN', '-n', '-3', '--interpolate', '--out', 'OUT/s.png'], 'argument -n: must be at least 1, got -3'),
    (['sample', 'RUN', '-n', '0', '--out', 'OUT/s.png'], 'argument -n: must be at least 1, got 0'),
    (['sample', 'RUN', '--interpolate', '--steps', '1', '--out', 'OUT/s.png'], 'argument --steps: must be at least 2, got 1'),
    (['evaluate', 'RUN', '--n-samples', '0'], 'argument --n-samples: must be at least 2, got 0'),
    (['evaluate', 'RUN', '--n-samples', '1'], 'argument --n-samples: must be at least 2, got 1')])
def test_bad_counts_fail_before_any_work(run, tmp_path, argv, says, monkeypatch):
    "Refused by the argument parser: the run is never loaded (loading it would fail this test), nothing is written."
    import rae_nb.checkpoint
    def no_work(*a, **k): raise AssertionError('the run was loaded before the count was checked')
    monkeypatch.setattr(rae_nb.checkpoint, 'load_run', no_work)
    before = snapshot(run)
    assert_one_line(*cli(*[str(run) if a == 'RUN' else a.replace('OUT', str(tmp_path)) for a in argv])[:2], says)
    assert snapshot(run) == before and not list(tmp_path.iterdir())

@pytest.mark.parametrize('damage', ['empty', 'truncated'])
def test_damaged_checkpoint_then_resume(copy, damage):
    (copy/'result.json').unlink(); (copy/'model.safetensors').unlink() # a run that stopped after its last checkpoint
    data = (copy/CHECKPOINT).read_bytes()
    (copy/CHECKPOINT).write_bytes(b'' if damage == 'empty' else data[:len(data)//2])
    before = snapshot(copy)
    code, err, _ = cli(*TRAIN, '--out', copy, '--resume')
    assert_one_line(code, err, f'{copy/CHECKPOINT} is not a readable checkpoint')
    assert 'restore it from a copy, or delete it' in err
    assert snapshot(copy) == before

@pytest.mark.parametrize('other', ['checkpoint', 'png', 'empty'])
@pytest.mark.parametrize('command', ['evaluate', 'sample'])
def test_model_file_replaced(copy, tmp_path, other, command):
    w = copy/'model.safetensors'
    if other == 'checkpoint': shutil.copyfile(copy/CHECKPOINT, w)
    elif other == 'png': Image.new('L', (8, 8)).save(w, format='png')
    else: w.write_bytes(b'')
    before = snapshot(copy)
    code, err, _ = cli(command, copy, *(['--out', tmp_path/'s.png'] if command == 'sample' else []))
    assert_one_line(code, err, str(w))
    assert ('does not hold the parameters of this AutoEncoder' if other == 'checkpoint' else 'is not a readable safetensors file') in err
    assert snapshot(copy) == before and not (tmp_path/'s.png').exists()

@pytest.mark.parametrize('command', ['evaluate', 'sample'])
def test_config_width_differs_from_the_parameters(copy, tmp_path, command):
    rec = json.loads((copy/'config.json').read_text()); rec['config']['width_div'] = 8
    (copy/'config.json').write_text(json.dumps(rec))
    before = snapshot(copy)
    code, err, _ = cli(command, copy, *(['--out', tmp_path/'s.png'] if command == 'sample' else []))
    assert_one_line(code, err, 'holds parameters of other sizes than the config builds')
    assert f'correct {copy/"config.json"} (width_div 8' in err
    assert snapshot(copy) == before

def test_broken_config_and_missing_run_are_named(copy, tmp_path):
    (copy/'config.json').write_text('{"config": {')
    assert_one_line(*cli('evaluate', copy)[:2], f'{copy/"config.json"} is not a valid rae_nb run config')
    code, err, _ = cli('evaluate', tmp_path/'nothing')
    assert_one_line(code, err, 'not a finished rae_nb training run')
    assert '--resume' not in err

def test_out_under_a_regular_file(run, tmp_path):
    f = tmp_path/'file'; f.write_text('mine')
    before = snapshot(run)
    for argv in [[*TRAIN, '--out', f/'run'], ['sample', run, '--out', f/'s.png'], ['data', 'mnist', '--out', f/'d']]:
        assert_one_line(*cli(*argv)[:2], f'lies under {f}, which is a file, not a directory')
    assert f.read_text() == 'mine' and sorted(tmp_path.iterdir()) == [f] and snapshot(run) == before

def test_missing_data_hint_repeats_the_root(tmp_path):
    code, err, _ = cli(*TRAIN, '--root', tmp_path/'empty', '--out', tmp_path/'run')
    assert_one_line(code, err, f'rae-nb data mnist --root {tmp_path/"empty"}')
    assert not (tmp_path/'run').exists()

def test_run_files_share_permissions(run):
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in run.iterdir() if p.is_file()}
    assert len(set(modes.values())) == 1, modes

def test_fitted_density_is_kept_and_reused(copy, tmp_path):
    code, err, out = cli('sample', copy, '-n', '16', '--density', 'gaussian', '--out', tmp_path/'a.png') # the GMM's round trip is tested in 10_density
    assert code == 0, err
    kept = list((copy/'densities').iterdir())
    assert len(kept) == 1 and kept[0].name.startswith('gaussian-') and 'fitting gaussian' in out
    mtime = kept[0].stat().st_mtime_ns
    code, err, out = cli('sample', copy, '-n', '16', '--density', 'gaussian', '--out', tmp_path/'b.png')
    assert code == 0 and 'fitting' not in out and kept[0].stat().st_mtime_ns == mtime
    assert (tmp_path/'a.png').read_bytes() == (tmp_path/'b.png').read_bytes()
    modes = {p.stat().st_mode for p in copy.rglob('*') if p.is_file()}
    assert len(modes) == 1

def test_ctrl_c_during_train_says_where_and_how_to_go_on(tmp_path):
    out = tmp_path/'run'
    argv = [*TRAIN, '--epochs', '3', '--checkpoint-every', '3', '--log-every', '1', '--out', str(out)]
    p = subprocess.Popen([BIN/'rae-nb', *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    def steps():
        try: return max((json.loads(l)['step'] for l in (out/'log.jsonl').read_text().splitlines() if l.strip()), default=0)
        except (FileNotFoundError, json.JSONDecodeError): return 0
    while steps() < 7 and p.poll() is None: time.sleep(0.01)
    assert p.poll() is None, f'the run ended before it could be interrupted: {p.stderr.read()}'
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert_one_line(p.returncode, err, 'rae-nb train: error: interrupted at step ')
    assert f'{out/CHECKPOINT} holds step ' in err and not [f for f in os.listdir(out) if f.endswith('.partial')]
    t, meta = load_checkpoint(out/CHECKPOINT) # whole
    again = shlex.split(err.split('go on with:', 1)[1])
    assert again == ['rae-nb', *argv, '--resume']
    code, err, _ = cli(*again[1:]) # the printed command, run in-process
    assert code == 0, err
    result = json.loads((out/'result.json').read_text())
    assert result['steps'] == 30 and result['seconds'] > result['session_seconds'] > 0 # seconds add up over sessions
    assert abs(result['seconds'] - result['session_seconds'] - meta['seconds']) < 1e-3

_HOLD = """import sys, time
from rae_nb.core import dir_lock
with dir_lock(sys.argv[1]):
    print('held', flush=True); time.sleep(600)"""

@pytest.fixture
def holder():
    "`holder(path)` starts a process that holds `dir_lock(path)` until it is killed (at the latest when the test ends)."
    procs = []
    def hold(path) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, '-c', _HOLD, str(path)], stdout=subprocess.PIPE, text=True, env=ENV)
        procs.append(p)
        assert p.stdout.readline().strip() == 'held'
        return p
    yield hold
    for p in procs: p.kill(); p.wait()

def test_one_writer_per_run_directory(copy, holder):
    "A `rae-nb train` into a run directory another process is writing stops at once, naming it, and changes nothing; once that process is killed (its lock file left behind), the run goes on."
    (copy/'result.json').unlink(); (copy/'model.safetensors').unlink() # a run that stopped after its last checkpoint
    p = holder(copy)
    before = snapshot(copy)
    code, err, _ = cli(*TRAIN, '--out', copy, '--resume')
    assert_one_line(code, err, f'rae-nb train: error: {copy} is being written by process {p.pid} (')
    assert 'rae_nb.core import dir_lock' in err and snapshot(copy) == before
    p.kill(); p.wait()
    assert (copy/LOCK_FILE).exists() # the kernel released the lock; the file stays until the next holder removes it
    code, err, _ = cli(*TRAIN, '--out', copy, '--resume')
    assert code == 0 and (copy/'result.json').exists() and not (copy/LOCK_FILE).exists(), err

def test_one_reproduce_per_output_folder(tmp_path, holder, stand_in_fid_network):
    out = tmp_path/'out'
    p = holder(out)
    code, err, _ = cli('reproduce', '--preset', 'smoke', '--models', 'rae-l2', '--n-samples', '8', '--quiet', '--out', out)
    assert_one_line(code, err, f'rae-nb reproduce: error: {out} is being written by process {p.pid} (')
    assert [f.name for f in out.iterdir()] == [LOCK_FILE]

def test_evaluate_prints_kid_next_to_fid(run, monkeypatch):
    import rae_nb.evaluate
    sets = ('rec', 'n', 'gmm', 'interp')
    one = dict(**{f'{k}_fid': 10. + i for i, k in enumerate(sets)}, **{f'{k}_kid': 0.01*(i + 1) for i, k in enumerate(sets)},
               n_precision=.5, n_recall=.6, gmm_precision=.7, gmm_recall=.8)
    m = dict(model='rae-l2', dataset='mnist', n_samples=10, fid_network='w', n_density='gaussian', gmm_density='dp-gmm', seconds=1.,
             metrics={'tf1': one, 'pytorch-fid': {k: 2*v for k, v in one.items()}})
    monkeypatch.setattr(rae_nb.evaluate, 'evaluate', lambda *a, **kw: m) # the metrics themselves are tested in 13_evaluate
    code, err, out = cli('evaluate', run, '--quiet')
    assert code == 0, err
    assert 'tf1 mode  FID  rec 10.00  N 11.00  GMM 12.00  interp 13.00' in out and 'tf1 mode  KID  rec 0.0100  N 0.0200  GMM 0.0300  interp 0.0400' in out
    assert 'pytorch-fid mode  FID  rec 20.00  N 22.00' in out and 'GMM density dp-gmm' in out
