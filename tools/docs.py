"""Docs tooling that needs no Quarto: nbdev's notebook processing, then smalldocs for the site and nbconvert for the README.

  python tools/docs.py site         build _docs/ from nbs/ (what `nbdev_docs` does with Quarto), KaTeX served with it
  python tools/docs.py readme       write README.md from nbs/index.ipynb (what `nbdev_readme` does with Quarto)
  python tools/docs.py check-sync   fail if nbdev_export, nbdev_clean or the README generator would change a file
  python tools/docs.py katex        fetch and check the KaTeX release the site serves (the site build does it when needed)
"""
import base64, hashlib, os, posixpath, re, shutil, subprocess, sys, tarfile, tempfile
import nbformat
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
    if not cfg.get('git_url'): # no public repository: show_doc writes no "source" link (it would point at /blob/main/...)
        nbdev.doclinks.NbdevLookup.code = lambda self, sym: None
    return proc_nbs(cfg.nbs_path, n_workers=0, **kwargs)

# ---- pages where nbdev's links say they are
_re_outfile = re.compile(r'^output-file: *(\S+)\n', re.M)

def output_names(cache:Path) -> dict:
    "Each processed notebook (path relative to `cache`) -> the page nbdev names it (`output-file`, e.g. 08_models.ipynb -> models.html)."
    res = {}
    for nb in sorted(cache.rglob('*.ipynb')):
        raw = [c for c in nbformat.read(nb, as_version=4).cells if c.cell_type == 'raw' and c.source.startswith('---')]
        m = _re_outfile.search(raw[0].source) if raw else None
        if m: res[nb.relative_to(cache).as_posix()] = posixpath.join(nb.relative_to(cache).parent.as_posix(), m.group(1)).removeprefix('./')
    return res

_re_md_link = re.compile(r'(\]\(|href=")([^\s()"#]+\.ipynb)(?=[)#"])')   # [text](x.ipynb#a), href="x.ipynb"
_re_yml_link = re.compile(r'^(\s*-\s+|\s*href:\s*)(\S+\.ipynb)\s*$', re.M)  # sidebar entries

def rename_to_output_files(cache:Path):
    """Quarto writes each notebook to its `output-file`; smalldocs does not read that key, so rename the processed notebooks
    to it (08_models.ipynb -> models.ipynb) and repoint the links and the sidebar at the new names."""
    moves = {src: posixpath.splitext(out)[0] + '.ipynb' for src, out in output_names(cache).items()}
    moves = {k: v for k, v in moves.items() if k != v}
    def relink(text, here, pattern, from_root=False):
        def sub(m):
            target = posixpath.normpath(m.group(2) if from_root else posixpath.join(here, m.group(2)))
            if target not in moves: return m.group(0)
            return m.group(1) + (moves[target] if from_root else posixpath.relpath(moves[target], here or '.'))
        return pattern.sub(sub, text)
    for f in cache.glob('*.yml'):
        f.write_text(relink(f.read_text(), '', _re_yml_link, from_root=True))
    for f in [*cache.rglob('*.qmd'), *cache.rglob('*.md')]:
        f.write_text(relink(f.read_text(), f.parent.relative_to(cache).as_posix(), _re_md_link))
    for f in cache.rglob('*.ipynb'):
        nb = nbformat.read(f, as_version=4)
        for c in nb.cells:
            c.source = relink(c.source, f.parent.relative_to(cache).as_posix(), _re_md_link)
            if c.cell_type == 'raw' and c.source.startswith('---'): c.source = _re_outfile.sub('', c.source)
            for o in c.get('outputs', []):
                if 'text/markdown' in o.get('data', {}): o.data['text/markdown'] = relink(o.data['text/markdown'], f.parent.relative_to(cache).as_posix(), _re_md_link)
        nbformat.write(nb, f)
    for src, dst in moves.items(): (cache/src).rename(cache/dst)

# ---- KaTeX from the npm registry, checked, served with the site
KATEX_VERSION = '0.16.11' # the release smalldocs' pages load
KATEX_SHA512 = 'RQrI8rlHY92OLf3rho/Ts8i/XvjgguEjOkO1BEXcU3N8BqPpSzBNwV/G0Ukr+P/l3ivvJUE/Fa/CwbS6HesGNQ==' # npm's dist.integrity

def katex() -> Path:
    "The KaTeX tarball from npm (`npm pack`), its sha512 checked against the registry's integrity record; cached after the first fetch."
    cache = Path(os.environ.get('XDG_CACHE_HOME') or Path.home()/'.cache')/'rae_nb_docs' # beside rae_nb's own cache (data, weights)
    tgz = cache/f'katex-{KATEX_VERSION}.tgz'
    def ok(p): return p.is_file() and base64.b64encode(hashlib.sha512(p.read_bytes()).digest()).decode() == KATEX_SHA512
    if not ok(tgz):
        npm = shutil.which('npm')
        if npm is None: sys.exit('docs: KaTeX comes from the npm registry and npm is not installed: run tools/setup.sh (as root it installs npm)')
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([npm, 'pack', f'katex@{KATEX_VERSION}', '--ignore-scripts', '--pack-destination', d], capture_output=True, text=True)
            got = Path(d)/f'katex-{KATEX_VERSION}.tgz'
            if r.returncode or not got.is_file(): sys.exit(f'docs: `npm pack katex@{KATEX_VERSION}` failed (is the npm registry reachable?):\n{r.stderr[-1500:]}')
            if not ok(got): sys.exit(f'docs: katex-{KATEX_VERSION}.tgz from npm does not match the sha512 recorded in tools/docs.py; not using it')
            shutil.move(str(got), str(tgz))
    print(f'docs: KaTeX {KATEX_VERSION} ({tgz}, sha512 checked)')
    return tgz

def serve_katex(site_dir:Path):
    "Unpack KaTeX into `site_libs/katex/` and point every page that loads it from the CDN at that copy instead."
    import smalldocs.layout
    cdn = smalldocs.layout.KATEX
    if f'katex@{KATEX_VERSION}/' not in cdn: sys.exit(f'docs: this smalldocs loads KaTeX from {cdn}; set KATEX_VERSION and KATEX_SHA512 in tools/docs.py to that release')
    dest = site_dir/'site_libs'/'katex'
    shutil.rmtree(dest, ignore_errors=True)
    with tarfile.open(katex()) as t:
        for m in t.getmembers():
            rel = m.name.removeprefix('package/')
            keep = rel in ('LICENSE', 'dist/katex.min.js', 'dist/katex.min.css', 'dist/contrib/auto-render.min.js') or rel.startswith('dist/fonts/')
            if not (keep and m.isfile()): continue
            out = dest/rel.removeprefix('dist/')
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(t.extractfile(m).read())
    n = 0
    for page in site_dir.rglob('*.html'):
        html = page.read_text()
        if cdn not in html: continue
        up = '../'*(len(page.relative_to(site_dir).parts) - 1)
        page.write_text(html.replace(cdn, f'{up}site_libs/katex'))
        n += 1
    print(f'docs: KaTeX served from site_libs/katex on {n} pages')

def site():
    cache = proc()
    with tempfile.TemporaryDirectory() as d: # renamed in a copy: _proc/ stays nbdev's incremental cache of nbs/
        work = Path(d)/'_proc'
        shutil.copytree(cache, work)
        rename_to_output_files(work)
        subprocess.run([str(Path(sys.executable).parent/'smalldocs'), 'render', '--quiet', str(work)], check=True)
        shutil.rmtree(cfg.doc_path, ignore_errors=True)
        shutil.move(str(work/cfg.doc_path.name), str(cfg.doc_path))
    serve_katex(cfg.doc_path)
    print(f'docs: site built in {cfg.doc_path}')

def readme():
    "README.md from the processed index notebook: its title and description, then its cells as GitHub Markdown."
    import yaml
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
    body = readme_links(body, output_names(root/'_proc'))
    (root/'README.md').write_text(head + re.sub(r'\n{3,}', '\n\n', body).strip() + '\n')
    print('docs: README.md written')

def readme_links(md:str, pages:dict) -> str:
    """Links that work where README.md is read, the repository root: the index notebook's relative links and nbdev's
    symbol links (`/models.html#paper_config`, pages of the site) become links to the notebooks under nbs/."""
    nbs = cfg.nbs_path.relative_to(root).as_posix()
    by_page = {out: src for src, out in pages.items()}
    def sub(m):
        href = m.group(2)
        if re.match(r'[a-z]+:|#', href): return m.group(0)
        path = href.split('#')[0]
        path = by_page.get(path[1:], path[1:]) if path.startswith('/') else path
        new = posixpath.normpath(posixpath.join(nbs, path))
        if not (root/new).exists(): sys.exit(f'docs: README.md would link to {href}, and {new} does not exist in the repository')
        return m.group(1) + new + ')'
    return re.sub(r'(\]\()([^)\s]+)\)', sub, md)

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
    cmds = {'site': site, 'readme': readme, 'check-sync': check_sync, 'katex': katex}
    if len(sys.argv) != 2 or sys.argv[1] not in cmds: sys.exit(__doc__)
    cmds[sys.argv[1]]()
