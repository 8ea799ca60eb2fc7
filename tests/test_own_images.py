"""Your own images on the command line: `rae-nb data PATH`, `rae-nb train --data PATH` (with `--log-with tensorboard`), and `sample`,
`evaluate` and `reproduce --data` of such runs, on small folders of real image
files (MNIST test digits written as PNGs of mixed sizes). Every bad input is exit status 2 with one line on stderr, and
writes nothing: no cache entry, no run directory."""
import json
import numpy as np
import pytest
from PIL import Image
from conftest import cli
from rae_nb.checkpoint import load_run
from rae_nb.data import data_root, load_dataset

SIZES = [(32, 32), (40, 30), (64, 64), (28, 50)] # mixed sizes and aspect ratios

@pytest.fixture
def home(tmp_path, monkeypatch, mnist_raw):
    "A working directory with its own rae_nb cache (the image cache lands there) and the real MNIST still found."
    monkeypatch.setenv('RAE_NB_DATA', str(data_root()))
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path/'cache'))
    monkeypatch.chdir(tmp_path)
    return tmp_path

def write_digits(d, n:int, start:int=0):
    "`n` MNIST test digits as grey PNGs of mixed sizes, half of them in a subfolder."
    x = load_dataset('mnist').test.x[start:start + n, 0].numpy()
    (d/'sub').mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(x): Image.fromarray(a).resize(SIZES[i % 4]).save(d/('sub' if i % 2 else '.')/f'{i:03d}.png')
    return d

def files(d) -> dict:
    "Every file under `d`, with its bytes."
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob('*')) if p.is_file()}

def assert_refused(home, argv, says:str):
    "`rae-nb ARGV` exits 2 with one line saying `says`, and writes nothing under `home` (a folder)."
    before = files(home)
    code, err, _ = cli(*argv)
    err = err.split('\r')[-1] # a progress bar erases itself (carriage returns, no new line) before the error is printed
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, (code, err)
    assert says in err, err
    assert files(home) == before

TRAIN = ['train', '--model', 'rae-l2', '--preset', 'smoke', '--batch-size', '8', '--quiet']

def bad_folders(home):
    "Folders and files that are bad input, each with what the error says."
    (home/'empty').mkdir()
    (home/'docs').mkdir(); (home/'docs'/'a.txt').write_text('x'); (home/'docs'/'b.csv').write_text('x')
    write_digits(home/'two', 2)
    broken = write_digits(home/'broken', 12)
    (broken/'bad.png').write_bytes(b'not a png'); (broken/'cut.png').write_bytes((broken/'000.png').read_bytes()[:60])
    own = write_digits(home/'own'/'train', 4); write_digits(home/'own'/'test', 2); (home/'own'/'valid').mkdir()
    a = np.random.default_rng(0).random((10, 32, 32, 1))
    np.savez(home/'labels.npz', labels=np.arange(10))
    a[3, 0, 0, 0] = np.nan; np.savez(home/'nan.npz', x=a)
    return {'empty': 'is empty', 'docs': 'holds no images, only 2 other file(s) (1 .txt, 1 .csv)', 'two': '2 image(s) are too few to split',
            'own': 'the valid/ subfolder(s) hold no readable images', 'labels.npz': 'holds no image array', 'nan.npz': 'holds 1 NaN or infinite value(s)',
            'nowhere': 'does not exist'}

def test_bad_input_is_refused_and_writes_nothing(home):
    for name, says in bad_folders(home).items():
        for argv in (['data', name], [*TRAIN, '--data', name, '--out', 'run']):
            assert_refused(home, argv, 'is neither a data set' if argv[0] == 'data' and name == 'nowhere' else says)
    assert not (home/'run').exists() and not (home/'cache').exists()

def test_bad_options_are_refused_and_write_nothing(home):
    write_digits(home/'pngs', 12); bad_folders(home)
    cut = write_digits(home/'cut', 12); (cut/'cut.png').write_bytes((cut/'000.png').read_bytes()[:60])
    for argv, says in [(['data', 'pngs', '--image-size', '48'], 'image size 48 is not supported: it must be a power of two from 16 to 256'),
                       ([*TRAIN, '--data', 'pngs', '--image-size', '8'], 'image size 8 is not supported'),
                       ([*TRAIN, '--data', 'pngs', '--dataset', 'mnist'], 'give either --dataset mnist (a paper data set) or --data pngs'),
                       ([*TRAIN], 'give --dataset NAME (a paper data set) or --data PATH'),
                       ([*TRAIN, '--dataset', 'mnist', '--image-size', '32'], '--image-size apply to your own images'),
                       (['data', 'broken', '--strict'], '1 unreadable image file(s) under broken (--strict), e.g. bad.png'), # refused before decoding
                       (['data', 'cut', '--strict'], '1 unreadable image file(s) under cut (--strict), e.g. cut.png: truncated'), # found while decoding
                       ([*TRAIN, '--data', 'broken', '--strict', '--out', 'run'], 'unreadable image file(s)')]:
        assert_refused(home, argv, says)

def test_data_names_what_it_skipped_and_caches_once(home, monkeypatch):
    broken = write_digits(home/'broken', 12)
    (broken/'bad.png').write_bytes(b'not a png'); (broken/'cut.png').write_bytes((broken/'000.png').read_bytes()[:60])
    code, err, out = cli('data', 'broken', '--out', 'shown')
    assert code == 0, err
    assert 'found 14 image files' in out and 'skipped 2:' in out and 'bad.png: not a readable image' in out and 'cut.png: truncated or corrupt' in out, out
    assert 'made 32x32, 1 channel(s) (grey)' in out and 'train 10  valid 1  test 1' in out, out
    assert Image.open(home/'shown'/'samples.png').size[0] > 0
    rec = json.loads((home/'shown'/'splits.json').read_text())
    assert (rec['skipped'], rec['split_seed'], len(rec['valid_indices'])) == (2, 0, 1)
    cached = list((home/'cache'/'rae_nb'/'images').glob('*.npz'))
    assert len(cached) == 1
    import rae_nb.data
    monkeypatch.setattr(rae_nb.data, '_decode', lambda *a: pytest.fail('decoded again instead of reading the cache'))
    code, err, out2 = cli('data', 'broken')
    assert code == 0 and out2.splitlines()[1:] == out.splitlines()[1:-1], (err, out2)
    (broken/'new.png').write_bytes((broken/'002.png').read_bytes()) # another file: another cache key, decoded again
    with pytest.raises(pytest.fail.Exception): cli('data', 'broken')

def test_train_on_own_images_end_to_end(home):
    write_digits(home/'pngs', 40)
    code, err, out = cli(*TRAIN, '--data', 'pngs', '--image-size', '32', '--latent', '8', '--lr', '1e-3', '--out', 'run')
    assert code == 0, err
    assert 'official settings of mnist (the closest paper data set)' in out and 'latent 8' in out, out
    rec = json.loads((home/'run'/'config.json').read_text())
    c = rec['config']
    assert (c['dataset'], c['shape'], c['latent'], c['settings_from'], c['lr'], c['beta']) == ('pngs', [1, 32, 32], 8, 'mnist', 1e-3, 1e-4)
    assert c['data'] == rec['data']['digest'] and len(c['data']) == 16
    assert (rec['data']['found'], rec['data']['train'], rec['data']['valid'], rec['data']['test'], rec['data']['split_seed']) == (40, 32, 4, 4, 0)
    model, mc, _ = load_run(home/'run')
    assert mc.shape == (1, 32, 32) and model.encoder.latent == 8
    code, err, _ = cli(*TRAIN, '--data', 'pngs', '--image-size', '32', '--latent', '8', '--lr', '1e-3', '--out', 'run', '--resume')
    assert code == 0, err # the same images: the finished run is recognised
    write_digits(home/'other', 40, start=100) # good images (so cached), but not those the run trained on: its directory stays as it is
    assert_refused(home/'run', [*TRAIN, '--data', 'other', '--image-size', '32', '--latent', '8', '--lr', '1e-3', '--out', 'run', '--resume'], 'holds a different run')
    assert_refused(home/'run', [*TRAIN, '--data', 'pngs', '--image-size', '32', '--latent', '8', '--lr', '1e-3', '--split-seed', '1', '--out', 'run', '--resume'], 'holds a different run')

@pytest.fixture
def trained(home, monkeypatch):
    "A smoke run of RAE-L2 on 150 MNIST test digits written as PNGs (`pngs/`, run in `run/`), with the FID stand-in network for `evaluate`."
    import rae_nb.evaluate
    from rae_nb.testing import stand_in_network
    net = stand_in_network()
    monkeypatch.setattr(rae_nb.evaluate, 'fid_network', lambda device='cpu': net)
    write_digits(home/'pngs', 150)
    code, err, _ = cli(*TRAIN, '--data', 'pngs', '--image-size', '32', '--out', 'run')
    assert code == 0, err
    return home

def test_sample_writes_a_folder_of_files_for_external_fid_tools(trained):
    home = trained
    code, err, out = cli('sample', 'run', '-n', '12', '--out', 'samples', '--format', 'both', '--quiet')
    assert code == 0 and 'wrote 13 file(s) to samples: 12 gmm samples of rae-l2 on pngs' in out, (err, out)
    pngs = sorted((home/'samples').glob('*.png'))
    assert [p.name for p in pngs] == [f'{i:05d}.png' for i in range(12)] and Image.open(pngs[0]).size == (32, 32)
    x = np.load(home/'samples'/'samples.npz')['x']
    assert x.shape == (12, 32, 32, 1) and x.dtype == np.uint8 and (x[0, ..., 0] == np.array(Image.open(pngs[0]))).all()
    assert cli('sample', 'run', '--quiet')[0] == 0 and Image.open(home/'run'/'samples.png').size == (2 + 8*34, 2 + 8*34) # no --out: a grid of 64 in the run
    (home/'full').mkdir(); (home/'full'/'a.png').write_bytes(b'')
    for argv, says in [(['-n', '0', '--out', 'new'], 'argument -n: must be at least 1, got 0'),
                       (['--out', 'full'], 'full exists and is not an empty folder'),
                       (['--out', 'run/config.json'], 'exists and is not an empty folder'),
                       (['--out', 'new', '--interpolate'], '--interpolate writes one grid of strips'),
                       (['--out', 'g.png', '--format', 'npz'], '--format applies to a folder --out')]:
        assert_refused(home, ['sample', 'run', *argv], says)

def test_evaluate_reads_the_run_folder_again_and_refuses_a_changed_one(trained):
    home = trained
    code, err, out = cli('evaluate', 'run', '--n-samples', '4', '--quiet')
    assert code == 0, err
    m = json.loads((home/'run'/'metrics.json').read_text())
    assert (m['dataset'], m['n_samples'], m['reference']['split']) == ('pngs', 4, 'test') and m['metrics']['tf1']['gmm_fid'] >= 0
    (home/'run'/'metrics.json').unlink()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(home/'pngs'/'000.png')
    for argv in (['evaluate', 'run', '--n-samples', '4'], ['sample', 'run', '--out', 'new']):
        assert_refused(home, argv, 'changed since run was trained on them')
    import shutil; shutil.rmtree(home/'pngs')
    assert_refused(home, ['evaluate', 'run', '--n-samples', '4'], 'the images run was trained on, no longer exists')

def test_reproduce_on_own_images(home, stand_in_fid_network):
    write_digits(home/'pngs', 150)
    code, err, out = cli('reproduce', '--data', 'pngs', '--image-size', '32', '--models', 'rae-l2', '--preset', 'smoke', '--n-samples', '4', '--out', 'rep', '--quiet')
    assert code == 0, err
    rows = json.loads((home/'rep'/'results.json').read_text())
    assert [r['model'] for r in rows] == ['RAE-L2', 'data'] and rows[0]['dataset'] == 'pngs'
    line = next(l for l in (home/'rep'/'table1.md').read_text().splitlines() if l.startswith('| RAE-L2 |'))
    assert line.split(' | ')[2] == '–', line # the paper has no number for these images
    assert_refused(home, ['reproduce', '--data', 'pngs', '--dataset', 'mnist', '--out', 'rep2'], 'give either --dataset mnist')

def test_train_log_with_tensorboard(home):
    write_digits(home/'pngs', 40)
    assert_refused(home, [*TRAIN, '--data', 'pngs', '--log-with', 'wandb', '--out', 'run'], "argument --log-with: invalid choice: 'wandb'")
    try: from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError: return assert_refused(home, [*TRAIN, '--data', 'pngs', '--log-with', 'tensorboard', '--out', 'run'], "pip install 'rae-nb[tensorboard]'")
    code, err, _ = cli(*TRAIN, '--data', 'pngs', '--image-size', '32', '--log-with', 'tensorboard', '--out', 'run')
    assert code == 0, err
    ea = EventAccumulator(str(home/'run'/'tensorboard')).Reload()
    assert {'train/loss', 'train/rec', 'train/latent', 'train/reg', 'train/lr', 'valid/loss', 'epoch/lr'} <= set(ea.Tags()['scalars']), ea.Tags()
    epochs = [r for r in map(json.loads, open(home/'run'/'log.jsonl')) if r['kind'] == 'epoch']
    assert [e.value for e in ea.Scalars('valid/loss')] == pytest.approx([r['valid_loss'] for r in epochs])
    assert len(ea.Images('images: real, reconstructed, sampled')) == 2
