"""Docs tooling that needs no Quarto: nbdev's notebook processing, then smalldocs for the site and nbconvert for the README.

  python tools/docs.py site         build _docs/ from nbs/ (what `nbdev_docs` does with Quarto)
  python tools/docs.py readme       write README.md from nbs/index.ipynb (what `nbdev_readme` does with Quarto)
  python tools/docs.py check-sync   fail if nbdev_export, nbdev_clean or the README generator would change a file
"""
import hashlib, re, shutil, subprocess, sys
from pathlib import Path

from nbdev.config import get_config
from nbdev.quarto import refresh_quarto_yml
from nbdev.serve import proc_nbs
import nbdev.doclinks

cfg = get_config()
root = cfg.config_path

def proc(**kwargs) -> Path:
    "nbdev's docs processing (as in `nbdev_docs`, minus its Quarto install): notebooks -> _proc/."
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    return proc_nbs(cfg.nbs_path, n_workers=0, **kwargs)

def site():
    cache = proc()
    subprocess.run([str(Path(sys.executable).parent/'smalldocs'), 'render', '--quiet', str(cache)], check=True)
    shutil.rmtree(cfg.doc_path, ignore_errors=True)
    shutil.move(str(cache/cfg.doc_path.name), str(cfg.doc_path))
    print(f'docs: site built in {cfg.doc_path}')

def readme():
    "README.md from the processed index notebook: its title and description, then its cells as GitHub Markdown."
    import nbformat, yaml
    from nbconvert import MarkdownExporter
    nb = nbformat.read(proc()/cfg.readme_nb, as_version=4)
    head = ''
    for c in [c for c in nb.cells if c.cell_type == 'raw' and c.source.startswith('---')]:
        fm = yaml.safe_load(c.source.strip().strip('-'))
        head = f'# {fm.get("title", cfg.lib_name)}\n\n' + (f'> {fm["description"]}\n\n' if fm.get('description') else '')
        nb.cells.remove(c)
    nb.metadata['language_info'] = {'name': 'python'}
    for c in nb.cells: # figures live on the site (embedded there); a README cannot carry them without extra files
        if c.cell_type == 'code': c.outputs = [o for o in c.get('outputs', []) if not any(k.startswith('image/') for k in o.get('data', {}))]
    body, _ = MarkdownExporter().from_notebook_node(nb)
    (root/'README.md').write_text(head + re.sub(r'\n{3,}', '\n\n', body).strip() + '\n')
    print('docs: README.md written')

def _snapshot() -> dict:
    files = [root/'README.md', *sorted(cfg.lib_path.rglob('*.py')), *sorted(cfg.nbs_path.rglob('*.ipynb')), *sorted(cfg.nbs_path.glob('*.yml'))]
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() for p in files if p.exists() and '_proc' not in p.parts}

def check_sync():
    before = _snapshot()
    subprocess.run(['nbdev_export'], check=True, cwd=root)
    subprocess.run(['nbdev_clean'], check=True, cwd=root)
    readme()
    after = _snapshot()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        sys.exit('check-sync: these files were out of date and have now been regenerated; review and commit them:\n  ' + '\n  '.join(changed))
    print('check-sync: nbdev_export, nbdev_clean and README.md are in sync')

if __name__ == '__main__':
    cmds = {'site': site, 'readme': readme, 'check-sync': check_sync}
    if len(sys.argv) != 2 or sys.argv[1] not in cmds: sys.exit(__doc__)
    cmds[sys.argv[1]]()
