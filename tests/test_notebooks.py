"Every notebook under nbs/ through nbdev's own test function, honouring settings.ini's tst_flags."
import json
from pathlib import Path
import pytest
from nbdev import test as nbtest
from nbdev.config import get_config

cfg = get_config()
NOTEBOOKS = sorted(p for p in cfg.nbs_path.rglob('*.ipynb')
                   if not any(part.startswith(('_', '.')) for part in p.relative_to(cfg.nbs_path).parts))

def run_notebook(nb:Path) -> bool:
    "Run `nb` as the test command does: cells flagged with one of settings.ini's tst_flags are skipped; True if every other cell ran."
    return nbtest.test_nb(nb, skip_flags=cfg.tst_flags.split(), basepath=cfg.config_path)[0]

def test_there_are_notebooks():
    assert {'index.ipynb', '00_core.ipynb', '01_data.ipynb', '90_cli.ipynb'} <= {p.name for p in NOTEBOOKS}

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: str(p.relative_to(cfg.nbs_path)))
def test_notebook(nb):
    assert run_notebook(nb), f'{nb.name} failed: its traceback is printed above'

def _nb(tmp_path, *sources):
    cells = [dict(cell_type='code', execution_count=None, metadata={}, outputs=[], source=s) for s in sources]
    p = tmp_path/'flags.ipynb'
    p.write_text(json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5)))
    return p

@pytest.mark.parametrize('flag', ['slow', 'gpu', 'notest'])
def test_notebook_skips_flagged_cells(tmp_path, flag):
    "Under the test command a cell flagged slow, gpu or notest never runs (long and GPU work stays out of CI), and the cells around it do."
    test_notebook(_nb(tmp_path, 'x = 1', f'#| {flag}\nraise RuntimeError("a {flag} cell ran")', 'assert x == 1'))

def test_notebook_fails_on_a_failing_cell(tmp_path):
    with pytest.raises(AssertionError, match='flags.ipynb failed'): test_notebook(_nb(tmp_path, 'x = 1', 'assert x == 2'))
