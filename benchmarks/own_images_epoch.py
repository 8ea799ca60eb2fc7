"""Per-epoch CPU cost of rae-l2 on 2000 MNIST test digits upscaled to 128x128 PNGs (width divisors 8 and 4, batch 100, 2 threads, eager), with the fp32
matrix-product ceiling and the load average in the same run. Run it un-niced on an otherwise idle machine:
`python benchmarks/own_images_epoch.py [WORK_DIR]`; it writes WORK_DIR/own_images_epoch.json (WORK_DIR default: a temporary folder)."""
import os, sys, tempfile, time, json, platform
import torch
torch.set_num_threads(2)
from pathlib import Path
from PIL import Image
from rae_nb.data import load_dataset, load_images
from rae_nb.config import preset_config
from rae_nb.learner import Learner, default_callbacks
load = lambda: os.getloadavg()
res = dict(cpu=platform.processor() or platform.machine(), threads=torch.get_num_threads(), load_start=load())
a = torch.randn(4096, 4096); b = torch.randn(4096, 4096); a @ b
t = time.perf_counter(); [a @ b for _ in range(5)]; res['matmul_gflops'] = round(5*2*4096**3/(time.perf_counter() - t)/1e9, 1)
work = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
d = work/'digits128'
if not d.exists():
    d.mkdir(parents=True)
    for i, x in enumerate(load_dataset('mnist').test.x[:2000, 0].numpy()): Image.fromarray(x).resize((128, 128), Image.BICUBIC).save(d/f'{i:04d}.png')
t = time.perf_counter(); data = load_images(d, cache=work/'cache', progress=False); res['decode_s'] = round(time.perf_counter() - t, 2)
res['shape'], res['train'] = data.shape, len(data.train)
for wd in (8, 4):
    mc, tc = preset_config('rae-l2', data.name, 'cpu', shape=data.shape, data=data.info['digest'], width_div=wd, batch_size=100, epochs=1, compile=False, cpu=True)
    learn = Learner(mc, tc, data.train.x, data.valid.x, out=None, progress=False)
    s = learn.fit()
    res[f'wd{wd}'] = dict(settings_from=mc.settings_from, latent=mc.latent, steps=s['steps'], epoch_s=s['session_seconds'], images_per_s=s['images_per_s'])
    print(res, flush=True)
res['load_end'] = load()
print(json.dumps(res))
json.dump(res, open(work/'own_images_epoch.json', 'w'), indent=1)
