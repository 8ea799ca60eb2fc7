"""Training-step throughput of rae_nb's learner against pythae 0.1.2 on the same MNIST nets, data and batch.

    pip install pythae==0.1.2     # the peer (not a dependency of rae_nb)
    .venv/bin/python benchmarks/train_step.py [--width-div 4] [--batch 100] [--repeats 5] [--steps 5]
                                              [--mixed-precision no|bf16] [--channels-last]

rae_nb side: `Learner.train_step` (forward, finiteness check, backward, Adam) for rae (no decoder regularizer), rae-l2
and rae-gp, with the paper preset's torch.compile (encoder and decoder; RAE-GP's decoder stays eager because its
loss needs a second backward through it) unless --no-compile. pythae side: its RAE_L2 and RAE_GP models built on the very same Encoder/Decoder modules, stepped the way
its CoupledOptimizerTrainer steps them (model forward, backward, one Adam for the encoder and one with weight decay
for the decoder). Everything is timed in one process in alternation (round robin over repeats) so machine noise hits
all alike; the median over repeats of the mean step time is reported. FLOPs per step come from torch's FlopCounterMode,
the ceiling from a 4096 x 4096 matrix product of the same dtype. Step memory is measured separately, each
configuration in a fresh process after warm-up, as the peak during 3 steps above what the process held before them
(CPU: peak resident set size, reset through /proc/self/clear_refs, with glibc's mmap threshold fixed so that freed
tensors leave the resident set; CUDA: max allocated), so one cannot inflate another.
"""
import argparse, ctypes, json, os, statistics, subprocess, sys, time
from dataclasses import replace
import torch
from torch.utils.flop_counter import FlopCounterMode
from rae_nb.core import to_float
from rae_nb.data import load_dataset
from rae_nb.config import preset_config
from rae_nb.learner import Learner
from rae_nb.nets import Encoder, Decoder

OURS = ('rae', 'rae-l2', 'rae-gp')
PEERS = {'rae-l2': 'RAE_L2', 'rae-gp': 'RAE_GP'} # our model -> pythae's model of the same name

def ours(name, a, x):
    mc, tc = preset_config(name, 'mnist', 'paper', width_div=a.width_div, batch_size=a.batch, compile=a.compile,
                           mixed_precision=a.mixed_precision, channels_last=a.channels_last or None)
    learn = Learner(mc, tc, x, x[:a.batch], progress=False)
    return lambda: learn.train_step(x), learn

def pythae_step(name, a, x, device):
    from pythae.models import RAE_L2, RAE_L2_Config, RAE_GP, RAE_GP_Config
    from pythae.models.nn import BaseEncoder, BaseDecoder
    from pythae.models.base.base_utils import ModelOutput
    mc, _ = preset_config(name, 'mnist', 'paper', width_div=a.width_div)
    from rae_nb.nets import net_spec
    spec = net_spec('mnist', a.width_div)
    class Enc(BaseEncoder):
        def __init__(self): super().__init__(); self.net = Encoder(spec)
        def forward(self, x): return ModelOutput(embedding=self.net(x))
    class Dec(BaseDecoder):
        def __init__(self): super().__init__(); self.net = Decoder(spec)
        def forward(self, z): return ModelOutput(reconstruction=self.net(z))
    Model, Config = dict(rae_l2=(RAE_L2, RAE_L2_Config), rae_gp=(RAE_GP, RAE_GP_Config))[name.replace('-', '_')]
    torch.manual_seed(0)
    model = Model(Config(input_dim=spec.shape, latent_dim=spec.latent, embedding_weight=mc.beta, reg_weight=max(mc.lam, 1e-7)),
                  encoder=Enc(), decoder=Dec()).to(device).train()
    if a.channels_last: model = model.to(memory_format=torch.channels_last)
    enc_opt = torch.optim.Adam(model.encoder.parameters(), mc.lr)
    dec_opt = torch.optim.Adam(model.decoder.parameters(), mc.lr, weight_decay=mc.lam if name == 'rae-l2' else 0.)
    xf = to_float(x.to(device))
    if a.channels_last: xf = xf.contiguous(memory_format=torch.channels_last)
    def step():
        with torch.autocast(device.type, torch.bfloat16, enabled=a.mixed_precision == 'bf16'):
            out = model({'data': xf.clone()})
        enc_opt.zero_grad(); dec_opt.zero_grad()
        out.loss.backward()
        enc_opt.step(); dec_opt.step()
    return step

class _GlobalOnly:
    "Stand-in for FlopCounterMode's module tracker: its backward hooks break pythae's autograd.grad w.r.t. the input images; only the total is needed."
    parents = {'Global'}
    def __enter__(self): return self
    def __exit__(self, *exc): pass

def count_flops(step) -> int:
    fc = FlopCounterMode(display=False)
    fc.mod_tracker = _GlobalOnly()
    with fc: step()
    return fc.get_total_flops()

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()

def matmul_ceiling(device, dtype, n=4096, reps=10) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b; sync(device); t = time.perf_counter()
    for _ in range(reps): a @ b
    sync(device)
    return 2*n**3*reps/(time.perf_counter() - t)/1e9

def build(a, x, only=None):
    "The step functions by label (only the one labelled `only` if given) and the device."
    steps, device = {}, torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    for name in OURS:
        if only in (None, f'rae_nb {name}'): steps[f'rae_nb {name}'] = ours(name, a, x)[0]
    for name, peer in PEERS.items():
        if only not in (None, f'pythae {peer}'): continue
        try: steps[f'pythae {peer}'] = pythae_step(name, a, x, device)
        except ImportError: print('pythae is not installed (pip install pythae==0.1.2): rae_nb only', file=sys.stderr); break
    return steps, device

def _proc_kb(field) -> int: # a line of /proc/self/status, in kB
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(field + ':'))

def memory(a, which):
    "Run in a fresh process: peak memory of `which`'s training steps above what the process held before them."
    x = load_dataset('mnist').train.x[:a.batch]
    steps, device = build(a, x, only=which)
    step = steps[which]
    step(); step(); sync(device) # warm-up (and compilation)
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
    else:
        ctypes.CDLL('libc.so.6').malloc_trim(0) # hand freed heap memory back, so that RSS counts live memory
        open('/proc/self/clear_refs', 'w').write('5'); base = _proc_kb('VmRSS')*1024 # '5' resets the peak RSS (Linux)
    for _ in range(3): step()
    sync(device)
    peak = torch.cuda.max_memory_allocated() if device.type == 'cuda' else _proc_kb('VmHWM')*1024
    print(json.dumps(dict(peak=peak - base, base=base)))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--width-div', type=int, default=4)
    p.add_argument('--batch', type=int, default=100)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--mixed-precision', choices=['no', 'bf16'], default='no')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--no-compile', dest='compile', action='store_false', help="rae_nb without torch.compile (the cpu and paper presets compile)")
    p.add_argument('--memory-of', default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.memory_of: return memory(a, a.memory_of)
    x = load_dataset('mnist').train.x[:a.batch]
    steps, device = build(a, x)
    flops = {}
    for name, step in steps.items():
        step() # warm-up
        flops[name] = count_flops(step)
    times = {name: [] for name in steps}
    for _ in range(a.repeats):
        for name, step in steps.items():
            sync(device); t = time.perf_counter()
            for _ in range(a.steps): step()
            sync(device); times[name].append((time.perf_counter() - t)/a.steps)
    dtype = torch.bfloat16 if a.mixed_precision == 'bf16' else torch.float32
    ceiling = matmul_ceiling(device, dtype)
    mem = {}
    for name in steps:
        argv = [sys.executable, __file__, '--memory-of', name] + [f'--{k.replace("_", "-")}={v}' for k, v in vars(a).items() if k in ('width_div', 'batch', 'mixed_precision')] + (['--channels-last'] if a.channels_last else []) + ([] if a.compile else ['--no-compile'])
        # a fixed mmap threshold: glibc then maps and unmaps every large tensor instead of keeping freed ones resident
        r = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536'))
        mem[name] = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else None
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f'device {device} ({torch.get_num_threads()} threads), torch {torch.__version__}, width ÷{a.width_div}, batch {a.batch}, '
          f'{a.mixed_precision if a.mixed_precision != "no" else "fp32"}{", channels_last" if a.channels_last else ""}, rae_nb {"compiled" if a.compile else "eager"}; '
          f'{a.repeats} alternated repeats × {a.steps} steps, median of repeat means; '
          f'{dtype} matmul ceiling {ceiling:.0f} GFLOP/s')
    print('| step | ms / step | images / s | GFLOP / step | GFLOP/s | % of ceiling | step memory (MB) |\n|---|---|---|---|---|---|---|')
    for name, m in med.items():
        gf = flops[name]/1e9
        mm = mem[name]; mtxt = f'{mm["peak"]/2**20:.0f}' if mm else '–'
        print(f'| {name} | {1e3*m:.1f} | {a.batch/m:.0f} | {gf:.1f} | {gf/m:.0f} | {100*gf/m/ceiling:.0f}% | {mtxt} |')
    ratios = [(f'rae_nb rae-l2 over pythae RAE_L2 (images/s)', 'pythae RAE_L2', 'rae_nb rae-l2'),
              (f'rae_nb rae-gp over pythae RAE_GP (images/s)', 'pythae RAE_GP', 'rae_nb rae-gp'),
              ('rae_nb rae-gp step time over rae_nb rae', 'rae_nb rae-gp', 'rae_nb rae')]
    for label, num, den in ratios:
        if num in med and den in med: print(f'{label}: {med[num]/med[den]:.2f}')

if __name__ == '__main__': main()
