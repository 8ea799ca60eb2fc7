"The built docs site (tools/docs.py site) in headless Chromium: titles, sidebar, every link and anchor, rendered maths, the figures."
import base64, configparser, functools, http.server, io, json, re, shutil, tempfile, threading
from html.parser import HTMLParser
from urllib.parse import urljoin, urldefrag, urlparse
from urllib.request import urlopen
import numpy as np
import pytest
from PIL import Image
from conftest import ROOT, run

SITE = ROOT/'_docs'
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}
HIDDEN = {'script', 'style', 'head', 'pre', 'code', 'annotation', 'noscript', 'template'} # not prose a reader sees as text

class Dom(HTMLParser):
    "The parts of a rendered page the tests look at."
    def __init__(self, html):
        super().__init__()
        self.title, self.links, self.imgs, self.ids, self.sections, self.entries = '', [], [], set(), [], []
        self.text, self.math_spans, self.katex = [], 0, 0 # visible prose; Pandoc's math spans; KaTeX renderings
        self._stack, self._in_title = [], False
        self.feed(html)
        self.text = ' '.join(self.text)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'body' and 'data-probe' in a: self.probe = a['data-probe']
        if tag == 'title': self._in_title = True
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag == 'img': self.imgs.append(a.get('src', ''))
        cls = (a.get('class') or '').split()
        if 'math' in cls and ('inline' in cls or 'display' in cls): self.math_spans += 1
        if 'katex' in cls: self.katex += 1
        if tag not in VOID: self._stack.append((tag, a.get('class') or '', a.get('href')))
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID: self.handle_endtag(tag)
    def handle_endtag(self, tag):
        if tag == 'title': self._in_title = False
        if any(t == tag for t, _, _ in self._stack):
            while self._stack and self._stack.pop()[0] != tag: pass
    def handle_data(self, data):
        if self._in_title: self.title += data
        if not any(t in HIDDEN or 'katex-mathml' in c for t, c, _ in self._stack): self.text.append(data)
        cls = [c for _, c, _ in self._stack]
        if data.strip() and any('menu-text' in c for c in cls[-1:]) and any('sidebar-menu-container' in c for c in cls):
            (self.sections if any('sidebar-item-toggle' in c or 'text-start' in c for c in cls[-2:-1]) else self.entries).append(data.strip())

# measured in the browser, after layout: each code block's box and content widths and its overflow-x; the page's own width
PROBE = """<script>addEventListener('load', () => document.body.setAttribute('data-probe', JSON.stringify({
  pres: [...document.querySelectorAll('main pre')].map(p => [getComputedStyle(p).overflowX, p.scrollWidth, p.clientWidth, p.textContent.slice(0, 40)]),
  page: [document.documentElement.scrollWidth, innerWidth]})))</script>"""

class ProbingHandler(http.server.SimpleHTTPRequestHandler):
    "The site as built; `page.html?probe` is the page with PROBE added."
    def log_message(self, *a): pass
    def do_GET(self):
        path, _, query = self.path.partition('?')
        if query != 'probe': return super().do_GET()
        body = (SITE/path.lstrip('/')).read_text().replace('</body>', PROBE + '</body>').encode()
        self.send_response(200); self.send_header('Content-Type', 'text/html; charset=utf-8'); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)

@pytest.fixture(scope='module')
def server():
    if not (SITE/'index.html').exists(): pytest.fail('the docs site is not built: run `python tools/docs.py site` (tools/test.sh does)')
    handler = functools.partial(ProbingHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    httpd.handle_error = lambda *a: None   # Chromium drops connections it no longer needs
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f'http://127.0.0.1:{httpd.server_address[1]}/'
    yield url
    httpd.shutdown()

def chromium_dom(url, width=1280) -> str:
    if CHROMIUM is None: pytest.skip('Debian chromium is not installed (tools/setup.sh installs it when run as root)')
    with tempfile.TemporaryDirectory() as profile:
        r = run(CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                '--disable-component-update', '--no-first-run', f'--user-data-dir={profile}', '--virtual-time-budget=3000',
                # without these, about one start in three stalls for 5 s (a background service waiting on the network it cannot reach)
                '--disable-breakpad', '--disable-crash-reporter', '--disable-domain-reliability', '--no-default-browser-check', '--disable-sync',
                '--disable-features=MediaRouter,OptimizationHints,Translate,AutofillServerCommunication',
                f'--window-size={width},900', '--dump-dom', url, timeout=120)
    assert r.returncode == 0 and '<html' in r.stdout, r.stderr[-2000:]
    return r.stdout

@functools.cache
def rendered(url):
    "The DOM of `url` after Chromium has loaded it and run its scripts."
    return Dom(chromium_dom(url))

# where nbdev's links say the pages are: each notebook at its `output-file` (08_models.ipynb -> models.html)
PAGES = ['index.html', 'data.html', 'fetch.html', 'core.html', 'nets.html', 'vae.html', 'rae.html', 'regularizers.html',
         'wae.html', 'smoothing.html', 'models.html', 'config.html', 'batchnorm.html', 'checkpoint.html', 'learner.html', 'density.html', 'density_store.html', 'fid.html', 'fid_network.html', 'testing.html', 'metrics.html', 'evaluate.html', 'cli.html', 'paper_map.html', 'experiments/protocol.html',
         'reproduce.html', 'experiments/table1.html', 'experiments/figures.html', 'experiments/densities.html', 'experiments/vae_tradeoffs.html', 'datasets.html', 'own_images.html']
ALL_PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob('*.html')) if SITE.exists() else PAGES
# hosts the pages may link to that exist (checked by hand; a test offline cannot fetch them): add a new one here deliberately
EXTERNAL = {'pypi.org', 'www.npmjs.com'}

def doc_host() -> str:
    "The site's address as nbdev writes it into symbol links (settings.ini's doc_host + doc_baseurl); '' when links are relative."
    c = configparser.ConfigParser(); c.read(ROOT/'settings.ini')
    d = c['DEFAULT']
    return d.get('doc_host', '') + d.get('doc_baseurl', '')

def test_every_page_is_tested():
    assert set(PAGES) == set(ALL_PAGES), f'missing pages: {set(PAGES) - set(ALL_PAGES)}; pages no test names: {set(ALL_PAGES) - set(PAGES)}'

def test_home_page(server):
    dom = rendered(server + 'index.html')
    assert dom.title.strip().startswith('rae_nb')
    assert dom.sections == ['Start', 'Foundations', 'Method', 'Training', 'Evaluation', 'Experiments']
    assert {'Command line', 'core', 'data', 'fetch', 'Paper map', 'Evaluation protocol', 'nets', 'vae', 'rae', 'regularizers', 'wae', 'smoothing', 'models', 'config', 'batchnorm', 'checkpoint', 'learner', 'density', 'density_store', 'fid', 'fid_network', 'testing', 'metrics', 'evaluate', 'reproduce',
            'Table 1 and Table 2 on MNIST', 'Qualitative figures on MNIST', 'Ablation: the ex-post density estimator'} <= set(dom.entries)
    assert 'quick-start' in dom.ids

def test_data_page_shows_the_digits(server):
    dom = rendered(server + 'data.html')
    assert dom.title.strip().startswith('data')
    assert dom.sections == ['Start', 'Foundations', 'Method', 'Training', 'Evaluation', 'Experiments']
    pngs = [Image.open(io.BytesIO(base64.b64decode(s.split(',', 1)[1]))) for s in dom.imgs if s.startswith('data:image/png;base64,')]
    assert len(pngs) >= 2, 'the digit grid and the class-balance plot'
    grid = np.asarray(pngs[0].convert('L'))
    assert min(grid.shape) > 300
    assert 0.05 < (grid > 128).mean() < 0.6, 'a grid of white strokes on black digits: neither blank nor saturated'
    assert {'load_dataset', 'Batches'} <= dom.ids or any('load_dataset' in i for i in dom.ids)

@pytest.mark.parametrize('page', ALL_PAGES)
def test_every_link_resolves(server, page):
    "Every link on every page: pages and files of the site (the doc host's absolute links mapped onto it) exist, anchors too."
    dom = rendered(server + page)
    assert dom.links, f'{page} has no links'
    host = doc_host()
    for href in dom.links:
        if href.startswith(('mailto:', 'javascript:')): continue
        url = server + href[len(host):].lstrip('/') if host and href.startswith(host) else urljoin(server + page, href)
        if urlparse(url).netloc != urlparse(server).netloc:
            assert urlparse(url).hostname in EXTERNAL, f'{page}: {href} is on a host nobody has checked exists (tests/test_docs.py EXTERNAL)'
            continue
        target, frag = urldefrag(url)
        try:
            with urlopen(target) as r: assert r.status == 200
        except OSError as e: pytest.fail(f'{page}: {href} is a dead link ({e})')
        if frag and target.endswith('.html'):
            assert frag in rendered(target).ids, f'{page}: {href} points at a missing anchor'

@pytest.mark.parametrize('page', ALL_PAGES)
def test_equations_render_offline(server, page):
    "KaTeX is served with the site: every math span is rendered, and no raw TeX delimiter is left in the visible text."
    dom = rendered(server + page)
    html = urlopen(server + page).read().decode()
    assert 'cdn.jsdelivr' not in html, f'{page} loads a script or style from a CDN'
    assert dom.katex >= dom.math_spans, f'{page}: {dom.katex} of {dom.math_spans} equations rendered'
    for raw in ('\\[', '\\(', '$$'):
        i = dom.text.find(raw)
        assert i < 0, f'{page}: raw TeX {raw!r} in the visible text: ...{dom.text[max(0, i - 80):i + 80]}...'

SCROLL_PAGES, WIDTHS = ['regularizers.html', 'learner.html', 'models.html', 'cli.html', 'experiments/table1.html'], [1280, 400]

@functools.cache
def probed(url, width) -> dict:
    "What the probe script measured on `url` at a window `width` pixels wide: its code blocks' widths and the page's."
    return json.loads(Dom(chromium_dom(url + '?probe', width)).probe)

@pytest.mark.parametrize('page', SCROLL_PAGES)
@pytest.mark.parametrize('width', WIDTHS)
def test_code_blocks_scroll(server, page, width):
    "Code wider than its block scrolls inside the block (on a desktop and a phone width): nothing is cut off, the page itself is not widened."
    probe = probed(server + page, width)
    wide = [p for p in probe['pres'] if p[1] > p[2] + 1]
    assert probe['pres'] and (page != 'regularizers.html' or wide), probe
    for overflow, content, box, start in wide: assert overflow in ('auto', 'scroll'), f'{page}: the code block {start!r}... is cut off ({content}px of code in {box}px)'
    assert probe['page'][0] <= probe['page'][1], f'{page} is wider than the window at {width}px: {probe["page"]}'

MACHINE = re.compile(r'(?<![\w.~])(?:/root/|/home/|/Users/|/work/|/tmp/)[^\s"\'<]*|site-packages[^\s"\'<]*') # homes, checkouts, temporary folders, installs
@pytest.mark.parametrize('page', ALL_PAGES)
def test_no_machine_paths(server, page):
    "Stored outputs show nothing of the machine they ran on (absolute paths of a home or a checkout, site-packages)."
    html = urlopen(server + page).read().decode()
    m = MACHINE.search(html)
    assert m is None, f'{page}: {m.group(0)!r}'

def test_pages_with_equations_render_them(server):
    "The pages with maths (the regularizers page alone has 34 equations) do render them: KaTeX ran there."
    counts = {p: (rendered(server + p).math_spans, rendered(server + p).katex) for p in ALL_PAGES}
    with_math = {p: c for p, c in counts.items() if c[0]}
    assert {'regularizers.html', 'vae.html', 'rae.html', 'fid.html'} <= set(with_math), with_math
    assert with_math['regularizers.html'][0] >= 30 and all(k >= n for n, k in with_math.values()), with_math

def pngs_on(dom):
    return [Image.open(io.BytesIO(base64.b64decode(s.split(',', 1)[1]))) for s in dom.imgs if s.startswith('data:image/png;base64,')]

@pytest.mark.parametrize('page, title, figures', [('vae.html', 'vae', 1), ('smoothing.html', 'smoothing', 1), ('models.html', 'models', 1), ('learner.html', 'learner', 1), ('density.html', 'density', 1), ('metrics.html', 'metrics', 1),
                                                  ('reproduce.html', 'reproduce', 1), ('experiments/figures.html', 'Qualitative figures', 4),
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
    dom = rendered(server + 'regularizers.html')
    assert dom.title.strip().startswith('regularizers')
    assert any(k in i for i in dom.ids for k in ('gradientpenalty', 'GradientPenalty'))

def test_results_page_shows_ours_beside_the_papers(server):
    dom = rendered(server + 'experiments/table1.html')
    assert dom.title.strip().startswith('Table 1 and Table 2')
    html = urlopen(server + 'experiments/table1.html').read().decode()
    for s in ('REC ours', 'REC paper', '18.26', 'RAE-L2', 'GMM FID below N FID', 'images per FID set'): assert s in html, s
