"""Whether torch.compile pays for training at a preset's scale: eager and compiled step times, the compile's cost and the break-even step count, per model.

    .venv/bin/python benchmarks/train_compile.py [--preset cpu] [--models rae rae-gp] [--steps 5] [--repeats 5]

For each model, rae_nb's `Learner` as the preset builds it (on real MNIST batches), eager and with the preset's
torch.compile. The compile's cost: in a fresh process per mode, the first training step and the first validation batch
(where the compiled nets trace and compile, for training and then for eval mode) less the median of --steps of each in
steady state; the compiled run's excess less the eager run's own (allocation, oneDNN set-up). The compiled process goes
twice: with an empty inductor cache (a first run on a machine) and again with the cache it left (a later run with the
same nets). The steady-state times: both learners in one process, timed in alternation (--repeats rounds of --steps
training steps and --steps validation batches each, median of the round means) so machine noise hits both alike. The
break-even is the compile's cost over the saving per training step; it is set beside the preset's training steps
(epochs x full batches) and validation batches, and the net seconds the compile saves over the preset's run are given.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
import torch
from rae_nb.data import load_dataset
from rae_nb.config import preset_config
from rae_nb.learner import Learner

def timed(f) -> float:
    t = time.perf_counter(); f(); return time.perf_counter() - t

def learner(a, model, compile, data):
    "The preset's learner for `model` (validating on one batch) and its training batches."
    mc, tc = preset_config(model, 'mnist', a.preset, compile=compile, max_valid=preset_config(model, 'mnist', a.preset)[0].batch_size)
    x = data.train.x[:mc.batch_size*(a.steps + 1)]
    return Learner(mc, tc, x, data.valid.x, progress=False), [x[i*mc.batch_size:(i + 1)*mc.batch_size] for i in range(a.steps + 1)]

def child(a):
    "In a fresh process: first-call and steady-state seconds of a training step and of a validation batch, and the preset's counts."
    data = load_dataset('mnist')
    learn, batches = learner(a, a.model, a.compile == 'yes', data)
    mc, tc = preset_config(a.model, 'mnist', a.preset) # the preset's own subsets, for its step counts
    first_train, first_valid = timed(lambda: learn.train_step(batches[0])), timed(learn.validate)
    train = statistics.median(timed(lambda: learn.train_step(b)) for b in batches[1:])
    valid = statistics.median(timed(learn.validate) for _ in range(a.steps))
    print(json.dumps(dict(first_train=first_train, first_valid=first_valid, train=train, valid=valid,
                          steps=mc.epochs*(len(data.train.x[:tc.max_train])//mc.batch_size),
                          valid_batches=mc.epochs*max(len(data.valid.x[:tc.max_valid])//mc.batch_size, 1),
                          width_div=mc.width_div, epochs=mc.epochs)))

def steady(a, model, data) -> dict:
    "Seconds per training step and per validation batch, eager and compiled, timed in alternation in this process."
    runs = {c: learner(a, model, c, data) for c in (False, True)}
    for learn, batches in runs.values(): learn.train_step(batches[0]); learn.validate() # compile, warm up
    t = {(c, k): [] for c in runs for k in ('train', 'valid')}
    for _ in range(a.repeats):
        for c, (learn, batches) in runs.items():
            t[c, 'train'].append(timed(lambda: [learn.train_step(b) for b in batches[1:]])/a.steps)
            t[c, 'valid'].append(timed(lambda: [learn.validate() for _ in range(a.steps)])/a.steps)
    return {k: statistics.median(v) for k, v in t.items()}

def run(a, model, compile, cache):
    argv = [sys.executable, __file__, '--child', '--preset', a.preset, '--steps', str(a.steps), '--models', model, '--compile', compile]
    # an inductor cache of its own: empty for the first compiled run
    r = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache))
    if r.returncode: sys.exit(f'{model} ({compile}) failed:\n{r.stderr[-2000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default='cpu')
    p.add_argument('--models', nargs='*', default=['rae', 'rae-gp'])
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--compile', default='no', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child: a.model = a.models[0]; return child(a)
    print(f'preset {a.preset}, MNIST, torch {torch.__version__}, {torch.get_num_threads()} threads; times in ms, compile costs in s')
    print('| model | eager step | compiled step | saving / step | eager valid batch | compiled valid batch | compile (empty cache) | '
          'compile (warm cache) | break-even steps (empty / warm) | preset steps (+ valid batches) | net saving over the preset, s (empty / warm) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    data = load_dataset('mnist')
    for model in a.models:
        with tempfile.TemporaryDirectory() as cache:
            e = run(a, model, 'no', cache)
            cold, warm = run(a, model, 'yes', cache), run(a, model, 'yes', cache)
        excess = lambda r: (r['first_train'] - r['train']) + (r['first_valid'] - r['valid'])
        cost = {k: max(excess(r) - excess(e), 0.) for k, r in (('cold', cold), ('warm', warm))}
        s = steady(a, model, data)
        e, c = dict(e, train=s[False, 'train'], valid=s[False, 'valid']), {k: s[True, k] for k in ('train', 'valid')}
        gain, vgain = e['train'] - c['train'], e['valid'] - c['valid']
        be = lambda s: f'{s/gain:.0f}' if gain > 0 else 'never'
        net = lambda s: e['steps']*gain + e['valid_batches']*vgain - s
        print(f'| {model} | {1e3*e["train"]:.1f} | {1e3*c["train"]:.1f} | {1e3*gain:.1f} | {1e3*e["valid"]:.1f} | {1e3*c["valid"]:.1f} | '
              f'{cost["cold"]:.1f} | {cost["warm"]:.1f} | {be(cost["cold"])} / {be(cost["warm"])} | {e["steps"]} (+ {e["valid_batches"]}) | '
              f'{net(cost["cold"]):.0f} / {net(cost["warm"]):.0f} |')

if __name__ == '__main__': main()
