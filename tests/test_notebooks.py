"Every notebook under nbs/ through nbdev's own test function, honouring settings.ini's tst_flags."
import json
from pathlib import Path
import pytest
from nbdev import test as nbtest
from nbdev.config import get_config

cfg = get_config()
NOTEBOOKS = sorted(p for p in cfg.nbs_path.rglob('*.ipynb')
                   if not any(part.startswith(('_', '.')) for part in p.relative_to(cfg.nbs_path).parts))

def test_flags_cover_slow_and_gpu():
    assert {'notest', 'slow', 'gpu'} <= set(cfg.tst_flags.split())

def test_there_are_notebooks():
    assert {'index.ipynb', '00_core.ipynb', '01_data.ipynb', '90_cli.ipynb'} <= {p.name for p in NOTEBOOKS}

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: str(p.relative_to(cfg.nbs_path)))
def test_notebook(nb):
    ok, _ = nbtest.test_nb(nb, skip_flags=cfg.tst_flags.split(), basepath=cfg.config_path)
    assert ok, f'{nb.name} failed: its traceback is printed above'

def _nb(tmp_path, *sources):
    cells = [dict(cell_type='code', execution_count=None, metadata={}, outputs=[], source=s) for s in sources]
    p = tmp_path/'flags.ipynb'
    p.write_text(json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5)))
    return p

@pytest.mark.parametrize('flag', ['slow', 'gpu', 'notest'])
def test_flagged_cells_are_skipped_unless_forced(tmp_path, flag):
    nb = _nb(tmp_path, 'x = 1', f'#| {flag}\nraise RuntimeError("a {flag} cell ran")', 'assert x == 1')
    assert nbtest.test_nb(nb, skip_flags=cfg.tst_flags.split(), showerr=False)[0]
    assert not nbtest.test_nb(nb, skip_flags=cfg.tst_flags.split(), force_flags=[flag], showerr=False)[0]

def test_a_failing_cell_fails_the_notebook(tmp_path):
    assert not nbtest.test_nb(_nb(tmp_path, 'assert 1 == 2'), skip_flags=[], showerr=False)[0]
