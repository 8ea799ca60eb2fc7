"""FID feature extraction: rae_nb against pytorch-fid's own command line on the same images.

    .venv/bin/python benchmarks/fid.py [--n 1000] [--dataset mnist] [--repeats 1]

Writes the first N test images and the first N training images of the dataset as PNG files into
two folders, then runs, each in a fresh process timed end to end (start-up, network load, PNG
decoding, features of both folders, Fréchet distance):

- pytorch-fid: `python -m pytorch_fid A B --device cpu|cuda` (its defaults: batch 50, a data
  loader with min(cpus, 8) workers), with the offline parameters handed to its `load_state_dict_from_url`
  (it would otherwise download them; the network and the distance are its own);
- rae_nb: the same PNG files read into uint8 tensors, `rae_nb.fid_network.fid_network` (BatchNorm folded into the
  convolutions, channels-last) and `inception_features` with pytorch-fid's preprocessing (mode 'pytorch-fid'), `fid_from_features`, three ways: `default` (on the CPU,
  a set runs compiled by inductor with freezing only above the break-even measured once for this machine), `eager` and `compiled` (every set);
  a compile is part of the wall time, from inductor's on-disk cache when an earlier run left one.

Then, on the CPU, one more process runs `rae_nb.fid_network.measure_compile`: the steady-state rates of the eager and the compiled network and the
compile's own cost, and prints the set size above which compiling pays on this machine.

Prints a markdown table: images per second (2N images over the process's wall time), the ratio
rae_nb / pytorch-fid, both FIDs and their difference, and the load average before and after (the
machine may be shared: the ratio, both sides measured in the same run, is the figure to compare). It also
prints the work per image (torch's FlopCounterMode on the network: 2 FLOP per multiply-add), the fp32
matrix-product ceiling measured in the same run (4096 x 4096) and the fastest rate that ceiling allows, so
each side's share of it shows how much room is left. Needs `rae-nb data` and `rae-nb fid-network`.
"""
import argparse, os, re, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
from PIL import Image
import torch
from rae_nb.data import load_dataset
from train_step import matmul_ceiling # the same ceiling as the training benchmark's (this folder is on the path when run as a script)

PYTORCH_FID = """
import sys
from safetensors.torch import load_file
from rae_nb.fid_network import _hub_returns, offline_path
from pytorch_fid.fid_score import main
sys.argv = ['pytorch-fid', *sys.argv[1:]]
with _hub_returns(load_file(str(offline_path()))): main()
"""

RAE_NB = """
import sys
from pathlib import Path
import numpy as np, torch
from PIL import Image
from rae_nb.fid import inception_features, fid_from_features
from rae_nb.fid_network import fid_network
def read(d): return torch.from_numpy(np.stack([np.asarray(Image.open(p)) for p in sorted(Path(d).glob('*.png'))]))[:, None]
net, _ = fid_network(sys.argv[3], compile={'default': None, 'eager': False, 'compiled': True}[sys.argv[4]])
f = [inception_features(read(d), net, 'pytorch-fid', progress=False) for d in sys.argv[1:3]] # pytorch-fid's preprocessing, as the CLI it is compared with
print('FID: ', fid_from_features(*f))
"""

BREAK_EVEN = """
import sys
from rae_nb.fid_network import measure_compile
m = measure_compile(batches=int(sys.argv[1]))
print(f"BREAK: {m['eager']} {m['compiled']} {m['compile']}")
"""

def flops_per_image() -> int:
    "FLOPs of one image through the FID network (at 299x299), by torch's FLOP counter."
    from torch.utils.flop_counter import FlopCounterMode
    from rae_nb.fid_network import fid_network
    net, _ = fid_network('cpu', compile=False)
    fc = FlopCounterMode(display=False)
    with torch.inference_mode(), fc: net(torch.rand(1, 3, 299, 299)) # the input after `inception_input`'s resize
    return fc.get_total_flops()

def write_pngs(x: torch.Tensor, folder: Path):
    folder.mkdir()
    for i, im in enumerate(x[:, 0].numpy()): Image.fromarray(im).save(folder/f'{i:05d}.png')

def timed(code: str, *args) -> tuple[float, float]:
    "Run `code` in a fresh interpreter; (wall seconds, the FID it printed)."
    t = time.perf_counter()
    r = subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True)
    s = time.perf_counter() - t
    if r.returncode: sys.exit(f'benchmark process failed:\n{r.stderr[-3000:]}')
    return s, float(re.search(r'FID:\s+(\S+)', r.stdout).group(1))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=1000, help='images per set')
    p.add_argument('--dataset', default='mnist', choices=['mnist', 'fashion-mnist'])
    p.add_argument('--repeats', type=int, default=1, help='alternating runs of each; the best wall time is reported')
    a = p.parse_args()
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    d = load_dataset(a.dataset, seed=0)
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        A, B = Path(tmp)/'test', Path(tmp)/'train'
        write_pngs(d.test.x[:a.n], A); write_pngs(d.train.x[:a.n], B)
        runs = {'pytorch-fid CLI': (PYTORCH_FID, [str(A), str(B), '--device', dev]), **{f'rae_nb {m}': (RAE_NB, [str(A), str(B), dev, m]) for m in ('default', 'eager', 'compiled')}}
        res = {k: [] for k in runs}
        for _ in range(a.repeats):
            for k, (code, args) in runs.items(): res[k].append(timed(code, *args))
    ceiling, gflop = matmul_ceiling(torch.device(dev), torch.float32), flops_per_image()/1e9
    load1 = os.getloadavg()
    best = {k: min(v) for k, v in res.items()}
    (t0, fid0), (t1, fid1) = best['pytorch-fid CLI'], best['rae_nb default']
    print(f'{a.dataset}: {a.n} test vs {a.n} training images as PNG; device {dev}, {os.cpu_count()} CPUs, '
          f'torch threads {torch.get_num_threads()}; wall time of a fresh process, best of {a.repeats}; '
          f'load average (1, 5, 15 min) {" ".join(f"{l:.2f}" for l in load0)} before, {" ".join(f"{l:.2f}" for l in load1)} after')
    print(f'{gflop:.2f} GFLOP per image; fp32 matrix-product ceiling {ceiling:.0f} GFLOP/s, i.e. at most {ceiling/gflop:.1f} images/s')
    print('| | seconds | images / s | GFLOP/s | % of ceiling | FID |\n|---|---|---|---|---|---|')
    for k, (t, fid) in best.items(): print(f'| {k} | {t:.1f} | {2*a.n/t:.1f} | {2*a.n/t*gflop:.0f} | {100*2*a.n/t*gflop/ceiling:.0f}% | {fid:.6f} |')
    print(f'\nthroughput ratio rae_nb (default) / pytorch-fid: {t0/t1:.2f}; |ΔFID| = {abs(fid1 - fid0):.2e}')
    if dev == 'cpu':
        r = subprocess.run([sys.executable, '-c', BREAK_EVEN, str(max(a.n, 200)//50)], capture_output=True, text=True) # rae_nb's own measurement, on as many images as a set
        if r.returncode: sys.exit(f'break-even process failed:\n{r.stderr[-3000:]}')
        eager, compiled, compile_s = map(float, re.search(r'BREAK:\s+(\S+) (\S+) (\S+)', r.stdout).groups())
        gain = eager - compiled
        even = f'{compile_s/gain:.0f} images' if gain > 0 else 'never (compiled is not faster per image)'
        print(f'steady state, one process: eager {1/eager:.1f} images/s, compiled {1/compiled:.1f} images/s; the compile costs {compile_s:.1f} s; '
              f'compiling pays for sets of more than {even} (rae_nb measures this once per machine, `compile_break_even`, and compiles only the sets above it)')

if __name__ == '__main__': main()
