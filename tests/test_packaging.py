"The wheel builds, carries the library and its console script, and imports with no notebooks present."
import sys, zipfile
from conftest import ROOT, run

def test_wheel_imports_without_notebooks(tmp_path):
    r = run(sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', tmp_path/'dist', ROOT)
    assert r.returncode == 0, r.stderr
    whl, = (tmp_path/'dist').glob('rae_nb-*.whl')
    names = zipfile.ZipFile(whl).namelist()
    assert {'rae_nb/__init__.py', 'rae_nb/core.py', 'rae_nb/data.py', 'rae_nb/cli.py', 'rae_nb/_modidx.py'} <= set(names)
    assert not any(n.startswith(('nbs/', 'tests/')) or n.endswith('.ipynb') for n in names)
    ep = next(n for n in names if n.endswith('entry_points.txt'))
    assert 'rae-nb = rae_nb.cli:main' in zipfile.ZipFile(whl).read(ep).decode()
    r = run(sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', tmp_path/'site', whl)
    assert r.returncode == 0, r.stderr
    work = tmp_path/'elsewhere'; work.mkdir()
    code = 'import rae_nb, rae_nb.data, rae_nb.cli; print(rae_nb.data.__file__); print(rae_nb.__version__)'
    r = run(sys.executable, '-c', code, cwd=work, env={'PYTHONPATH': str(tmp_path/'site'), 'HOME': str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith(str(tmp_path/'site')), r.stdout
