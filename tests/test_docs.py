"The built docs site (tools/docs.py site) in headless Chromium: titles, sidebar, every internal link, the digits figure."
import base64, functools, http.server, io, shutil, tempfile, threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urldefrag, urlparse
from urllib.request import urlopen
import numpy as np
import pytest
from PIL import Image
from conftest import ROOT, run

SITE = ROOT/'_docs'
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

class Dom(HTMLParser):
    "The parts of a rendered page the tests look at."
    def __init__(self, html):
        super().__init__()
        self.title, self.links, self.imgs, self.ids, self.sections, self.entries = '', [], [], set(), [], []
        self._stack, self._in_title = [], False
        self.feed(html)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'title': self._in_title = True
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag == 'img': self.imgs.append(a.get('src', ''))
        self._stack.append((tag, a.get('class', ''), a.get('href')))
    def handle_endtag(self, tag):
        if tag == 'title': self._in_title = False
        while self._stack and self._stack.pop()[0] != tag: pass
    def handle_data(self, data):
        if self._in_title: self.title += data
        cls = [c for _, c, _ in self._stack]
        if data.strip() and any('menu-text' in c for c in cls[-1:]) and any('sidebar-menu-container' in c for c in cls):
            (self.sections if any('sidebar-item-toggle' in c or 'text-start' in c for c in cls[-2:-1]) else self.entries).append(data.strip())

@pytest.fixture(scope='module')
def server():
    if not (SITE/'index.html').exists(): pytest.fail('the docs site is not built: run `python tools/docs.py site` (tools/test.sh does)')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    httpd.handle_error = lambda *a: None   # Chromium drops connections it no longer needs
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown()

@functools.cache
def rendered(url):
    "The DOM of `url` after Chromium has loaded it and run its scripts."
    if CHROMIUM is None: pytest.skip('Debian chromium is not installed (tools/setup.sh installs it when run as root)')
    with tempfile.TemporaryDirectory() as profile:
        r = run(CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                '--disable-component-update', '--no-first-run', f'--user-data-dir={profile}', '--virtual-time-budget=3000',
                '--dump-dom', url, timeout=120)
    assert r.returncode == 0 and '<html' in r.stdout, r.stderr[-2000:]
    return Dom(r.stdout)

PAGES = ['index.html', '01_data.html', '00_core.html', '02_nets.html', '03_vae.html', '04_rae.html', '05_regularizers.html',
         '06_wae.html', '07_smoothing.html', '08_models.html', '09_learner.html', '10_density.html', '11_fid.html', '12_metrics.html', '13_evaluate.html', '90_cli.html', 'paper_map.html', 'experiments/protocol.html',
         '14_reproduce.html', 'experiments/table1.html', 'experiments/figures.html', 'experiments/densities.html', 'experiments/vae_tradeoffs.html']

def test_home_page(server):
    dom = rendered(server + 'index.html')
    assert dom.title.strip().startswith('rae_nb')
    assert dom.sections == ['Start', 'Foundations', 'Method', 'Training', 'Evaluation', 'Experiments']
    assert {'Command line', 'core', 'data', 'Paper map', 'Evaluation protocol', 'nets', 'vae', 'rae', 'regularizers', 'wae', 'smoothing', 'models', 'learner', 'density', 'fid', 'metrics', 'evaluate', 'reproduce',
            'Table 1 and Table 2 on MNIST', 'Qualitative figures on MNIST', 'Ablation: the ex-post density estimator'} <= set(dom.entries)
    assert 'quick-start' in dom.ids

def test_data_page_shows_the_digits(server):
    dom = rendered(server + '01_data.html')
    assert dom.title.strip().startswith('data')
    assert dom.sections == ['Start', 'Foundations', 'Method', 'Training', 'Evaluation', 'Experiments']
    pngs = [Image.open(io.BytesIO(base64.b64decode(s.split(',', 1)[1]))) for s in dom.imgs if s.startswith('data:image/png;base64,')]
    assert len(pngs) >= 2, 'the digit grid and the class-balance plot'
    grid = np.asarray(pngs[0].convert('L'))
    assert min(grid.shape) > 300
    assert 0.05 < (grid > 128).mean() < 0.6, 'a grid of white strokes on black digits: neither blank nor saturated'
    assert {'load_dataset', 'fetch', 'Batches'} <= dom.ids or any('load_dataset' in i for i in dom.ids)

@pytest.mark.parametrize('page', PAGES)
def test_every_internal_link_resolves(server, page):
    dom = rendered(server + page)
    assert dom.links, f'{page} has no links'
    for href in dom.links:
        url = urljoin(server + page, href)
        if urlparse(url).netloc != urlparse(server).netloc or href.startswith(('mailto:', 'javascript:')): continue
        target, frag = urldefrag(url)
        with urlopen(target) as r: assert r.status == 200, f'{page}: {href} -> {r.status}'
        if frag and target.endswith('.html'):
            assert frag in rendered(target).ids, f'{page}: {href} points at a missing anchor'

def pngs_on(dom):
    return [Image.open(io.BytesIO(base64.b64decode(s.split(',', 1)[1]))) for s in dom.imgs if s.startswith('data:image/png;base64,')]

@pytest.mark.parametrize('page, title, figures', [('03_vae.html', 'vae', 1), ('07_smoothing.html', 'smoothing', 1), ('08_models.html', 'models', 1), ('09_learner.html', 'learner', 1), ('10_density.html', 'density', 1), ('12_metrics.html', 'metrics', 1),
                                                  ('14_reproduce.html', 'reproduce', 1), ('experiments/figures.html', 'Qualitative figures', 4),
                                                  ('experiments/vae_tradeoffs.html', 'The VAE', 2)])
def test_method_pages_show_their_figures(server, page, title, figures):
    dom = rendered(server + page)
    assert dom.title.strip().startswith(title)
    shown = pngs_on(dom)
    assert len(shown) >= figures
    for im in shown:
        a = np.asarray(im.convert('L'))
        assert min(a.shape) > 100 and a.std() > 5, f'{page}: a blank figure'

def test_regularizers_page_documents_the_protocol(server):
    dom = rendered(server + '05_regularizers.html')
    assert dom.title.strip().startswith('regularizers')
    assert any(k in i for i in dom.ids for k in ('gradientpenalty', 'GradientPenalty'))

def test_results_page_shows_ours_beside_the_papers(server):
    dom = rendered(server + 'experiments/table1.html')
    assert dom.title.strip().startswith('Table 1 and Table 2')
    html = urlopen(server + 'experiments/table1.html').read().decode()
    for s in ('REC ours', 'REC paper', '18.26', 'RAE-L2', 'GMM FID below N FID', 'images per FID set'): assert s in html, s
