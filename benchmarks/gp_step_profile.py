"""Where an RAE-GP training step's time goes, beside the plain RAE step's, as a share of the machine's fp32 ceiling.

    .venv/bin/python benchmarks/gp_step_profile.py [--width-div 4] [--batch 100] [--steps 5] [--no-compile]

Both steps are rae_nb's `Learner.train_step` (forward, finiteness check, backward, Adam) on real MNIST, as the paper
preset builds them (the encoder and decoder compiled; RAE-GP's decoder stays eager, since its loss differentiates
through it: the official penalty is one vector-Jacobian product with v = 2 D(z), then the backward of that). For each:
milliseconds per step (median of --steps after two warm-up steps), FLOPs per step by torch's FlopCounterMode, the
achieved GFLOP/s and its share of the fp32 matrix-product ceiling measured in the same run; then torch.profiler's
operators by self CPU time for the RAE-GP step, grouped into convolutions (forward and backward, the arithmetic),
BatchNorm, element-wise work and the rest, so what is not arithmetic shows.
"""
import argparse, statistics, time
from collections import defaultdict
import torch
from torch.profiler import profile, ProfilerActivity
from rae_nb.data import load_dataset
from train_step import matmul_ceiling, count_flops, ours # this folder is on the path when run as a script

GROUPS = {'convolution': ('conv', 'mkldnn', 'addmm', 'mm', 'bmm', 'linear'), 'batch norm': ('batch_norm', 'native_batch_norm'),
          'element-wise': ('mul', 'add', 'sub', 'div', 'pow', 'sigmoid', 'relu', 'threshold', 'tanh', 'exp', 'neg', 'copy_', 'fill_', 'zero_', 'clone', 'sum', 'mean')}

def group(name:str) -> str:
    n = name.lower()
    return next((g for g, keys in GROUPS.items() if any(k in n for k in keys)), 'other')

def ms_per_step(step, steps) -> float:
    for _ in range(2): step()
    ts = []
    for _ in range(steps):
        t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
    return 1000*statistics.median(ts)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--width-div', type=int, default=4)
    p.add_argument('--batch', type=int, default=100)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--no-compile', dest='compile', action='store_false')
    a = p.parse_args()
    a.mixed_precision, a.channels_last = 'no', False # the fp32 step, as the presets train it
    x = load_dataset('mnist').train.x[:a.batch]
    ceiling = matmul_ceiling(torch.device('cpu'), torch.float32)
    print(f'width ÷{a.width_div}, batch {a.batch}, compile {a.compile}, {torch.get_num_threads()} threads; fp32 matrix-product ceiling {ceiling:.0f} GFLOP/s')
    print('| step | ms | GFLOP | GFLOP/s | % of ceiling |\n|---|---|---|---|---|')
    steps = {}
    for name in ('rae', 'rae-gp'):
        steps[name] = step = ours(name, a, x)[0]
        ms, gflop = ms_per_step(step, a.steps), count_flops(step)/1e9
        print(f'| {name} | {ms:.0f} | {gflop:.1f} | {gflop/ms*1000:.0f} | {100*gflop/ms*1000/ceiling:.0f}% |')
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(a.steps): steps['rae-gp']()
    by = defaultdict(float)
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    for e in events: by[group(e.key)] += e.self_cpu_time_total
    total = sum(by.values())
    print('\nRAE-GP step, self CPU time by kind:\n| kind | ms per step | share |\n|---|---|---|')
    for g, t in sorted(by.items(), key=lambda kv: -kv[1]): print(f'| {g} | {t/1000/a.steps:.0f} | {100*t/total:.0f}% |')
    print('\nthe 15 operators with the most self CPU time:')
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=15))

if __name__ == '__main__': main()
