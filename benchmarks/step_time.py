"""Training-step time of each Table 1 objective on the MNIST nets, relative to the plain RAE.

    .venv/bin/python benchmarks/step_time.py [--width-div 4] [--batch 100] [--repeats 5] [--steps 10]

Real MNIST batches; models timed in alternation (round robin) so that machine noise hits all alike;
the median over repeats of the mean step time is reported. CPU unless CUDA is available.
"""
import argparse, statistics, time
from dataclasses import replace
import torch
from rae_nb.data import load_dataset, Batches
from rae_nb.models import MODELS, paper_config, build_model

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--width-div', type=int, default=4)
    p.add_argument('--batch', type=int, default=100)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--models', nargs='*', default=list(MODELS))
    a = p.parse_args()
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    x = next(iter(Batches(load_dataset('mnist').train.x, a.batch, shuffle=True, device=dev)))
    runs = {}
    for name in a.models:
        torch.manual_seed(0)
        model, objective = build_model(replace(paper_config(name, 'mnist'), width_div=a.width_div))
        model.to(dev).train()
        runs[name] = (model, objective, torch.optim.Adam(model.parameters(), 1e-4), [])
    def step(model, objective, opt):
        out = objective(model, x); opt.zero_grad(set_to_none=True); out['loss'].backward(); opt.step()
    for model, objective, opt, _ in runs.values(): step(model, objective, opt) # warm-up
    for _ in range(a.repeats):
        for model, objective, opt, times in runs.values():
            if dev == 'cuda': torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(a.steps): step(model, objective, opt)
            if dev == 'cuda': torch.cuda.synchronize()
            times.append((time.perf_counter() - t)/a.steps)
    base = statistics.median(runs['rae'][3]) if 'rae' in runs else None
    print(f'device {dev}, threads {torch.get_num_threads()}, width ÷{a.width_div}, batch {a.batch}, '
          f'{a.repeats} repeats × {a.steps} steps, median of repeat means')
    print('| model | ms / step | images / s | × RAE |\n|---|---|---|---|')
    for name, (*_, times) in runs.items():
        m = statistics.median(times)
        print(f'| {name} | {1e3*m:.1f} | {a.batch/m:.0f} | {m/base:.2f} |' if base else f'| {name} | {1e3*m:.1f} | {a.batch/m:.0f} | – |')

if __name__ == '__main__': main()
