"""`rae-nb reproduce` on the data sets a user supplies (CIFAR-10, CelebA fixtures at smoke scale) and its refusals, in-process
(`rae_nb.cli.main`), scored with the test stand-in for the Inception: the real one runs end to end in nbs/13_evaluate.ipynb."""
import json, pickle
from pathlib import Path
import numpy as np
from PIL import Image
import rae_nb.data as D
from conftest import cli

def _cifar_root(root: Path) -> Path:
    "A CIFAR-10 folder of random images: 10,100 training images (the default validation split takes 10,000) and 100 test images."
    d = root/'cifar-10-batches-py'; d.mkdir(parents=True)
    g = np.random.default_rng(0)
    for n in D._CIFAR_FILES:
        k = 100 if n == 'test_batch' else 2020
        with open(d/n, 'wb') as f: pickle.dump({b'data': g.integers(0, 256, (k, 3072), dtype=np.uint8), b'labels': [i % 10 for i in range(k)]}, f)
    return root

def _celeba_root(root: Path) -> Path:
    "A CelebA folder of 120 random 178x218 JPEGs in the official layout: 100 train (one batch), 10 validation, 10 test."
    d = root/'celeba'; (d/'img_align_celeba').mkdir(parents=True)
    g = np.random.default_rng(0)
    for i in range(1, 121): Image.fromarray(g.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(d/'img_align_celeba'/f'{i:06d}.jpg')
    (d/'list_eval_partition.txt').write_text(''.join(f'{i:06d}.jpg {0 if i <= 100 else 1 if i <= 110 else 2}\n' for i in range(1, 121)))
    return root

def _reproduce(*args):
    return cli('reproduce', '--preset', 'smoke', '--models', 'rae-l2', '--n-samples', '8', '--quiet', *args)

def test_reproduce_on_user_supplied_cifar10_and_celeba(tmp_path, stand_in_fid_network):
    for name, make, paper_rec in (('cifar10', _cifar_root, 32.24), ('celeba', _celeba_root, 43.52)):
        root, out = make(tmp_path/name), tmp_path/f'out-{name}'
        code, err, _ = _reproduce('--dataset', name, '--root', root, '--out', out)
        assert code == 0, err[-3000:]
        row, floor = json.loads((out/'results.json').read_text())
        assert floor['model'] == 'data' and floor['reference'] == row['reference']
        assert (row['model'], row['dataset'], row['preset'], row['n_samples'], row['fid_network']) == ('RAE-L2', name, 'smoke', 8, stand_in_fid_network)
        assert all(np.isfinite(row['metrics'][mode][k]) for k in ('rec_fid', 'n_fid', 'gmm_fid', 'interp_fid') for mode in ('tf1', 'pytorch-fid'))
        assert f'| RAE-L2 | {row["metrics"]["tf1"]["rec_fid"]:.2f} | {paper_rec} |' in (out/'table1.md').read_text()
        assert (out/'fig_samples.png').exists()
        img = json.loads((out/'rae-l2-s0'/'config.json').read_text())
        assert img['config']['dataset'] == name

def test_reproduce_refuses_bad_input_and_writes_nothing(tmp_path):
    out = tmp_path/'out'
    for args, msg in ((['--dataset', 'cifar10', '--root', tmp_path/'empty'], 'CIFAR-10'),
                      (['--seeds', '0', '0'], 'seeds repeat'),
                      (['--seeds', '-2'], 'non-negative'),
                      (['--n-samples', '1'], 'must be at least 2, got 1'),
                      (['--n-samples', '20000'], 'between 2 and 10000'),
                      (['--jobs', '0'], 'argument --jobs: must be at least 1, got 0'),
                      (['--jobs', '-2'], 'argument --jobs: must be at least 1, got -2'),
                      (['--threads', '0'], 'argument --threads: must be at least 1, got 0')):
        code, err, _ = _reproduce(*args, '--out', out)
        assert code == 2 and msg in err and 'rae-nb reproduce: error:' in err and err.count('\n') == 1, (args, err[-2000:])
        assert not out.exists()
    code, err, _ = cli('reproduce', '--models', 'rae-xl', '--out', out)
    assert code == 2 and 'invalid choice' in err and not out.exists()
    (tmp_path/'file').write_text('x')
    code, err, _ = _reproduce('--out', tmp_path/'file')
    assert code == 2 and 'not a directory' in err and (tmp_path/'file').read_text() == 'x'

def test_reproduce_without_fid_weights_stops_before_writing(tmp_path, mnist_raw, monkeypatch):
    "The default feature network is the FID Inception: with no weights for it, one line says how to get them and nothing is written."
    monkeypatch.setenv('RAE_NB_DATA', str(mnist_raw.parents[1])) # the real MNIST, but an empty cache and torch hub: no FID weights anywhere
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path/'cache')); monkeypatch.setenv('TORCH_HOME', str(tmp_path/'torch'))
    code, err, _ = _reproduce('--out', tmp_path/'out')
    assert code == 2 and err.startswith('rae-nb reproduce: error: no FID network: run `rae-nb fid-network`') and err.count('\n') == 1, err
    assert not (tmp_path/'out').exists()

def _timeless(rows:list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if 'seconds' not in k} for r in rows]

def test_jobs_give_the_rows_of_one_at_a_time(tmp_path, stand_in_fid_network):
    """`rae-nb reproduce --jobs 2 --threads 2` (two processes, one torch thread each) gives exactly the rows of the same two models run
    here one after the other with one thread, except the seconds; the feature network of this process reaches the workers; a rerun finds both finished."""
    from rae_nb.testing import stand_in_network
    from rae_nb.reproduce import reproduce
    one = reproduce('mnist', 'smoke', ['rae-l2', 'ae'], [0], tmp_path/'one', 8, jobs=1, threads=1, progress=False, log=lambda s: None, features=stand_in_network())
    code, err, out = _reproduce('--models', 'rae-l2', 'ae', '--jobs', '2', '--threads', '2', '--out', tmp_path/'two')
    assert code == 0, err[-3000:]
    two = json.loads((tmp_path/'two'/'results.json').read_text())
    assert [r['model'] for r in two] == ['RAE-L2', 'AE', 'data'] and _timeless(one) == _timeless(two)
    assert two[0]['fid_network'] == stand_in_fid_network and '1 torch threads' in two[0]['hardware']
    assert '2 at a time, each in its own process with 1 torch thread(s)' in out and out.count(' done: ') == 2
    metrics = {d: (tmp_path/'two'/d/'metrics.json').stat().st_mtime_ns for d in ('rae-l2-s0', 'ae-s0')}
    code, err, out = _reproduce('--models', 'rae-l2', 'ae', '--jobs', '2', '--threads', '2', '--out', tmp_path/'two')
    assert code == 0 and metrics == {d: (tmp_path/'two'/d/'metrics.json').stat().st_mtime_ns for d in metrics}, err[-3000:]
    assert _timeless(json.loads((tmp_path/'two'/'results.json').read_text())) == _timeless(two)
