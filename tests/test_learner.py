"""The learner with real processes: SIGKILL a training run at a random step or in the middle of a checkpoint write,
resume it, and the result is bit-identical to an uninterrupted run; 2-process DDP (gloo) gives the gradients of one
process on the same global batch. The killed runs call `train` in a fresh process (the command line's `--resume` is
`train(..., resume=True)`: tests/test_cli_errors.py covers it) on the smallest nets, so each run takes little more than
its start-up."""
import json, math, os, random, signal, subprocess, sys, time
from copy import deepcopy
from pathlib import Path
import pytest
import torch
from safetensors.torch import load_file
import rae_nb.regularizers as regularizers
from rae_nb.core import to_float
from rae_nb.data import load_dataset
from rae_nb.checkpoint import CHECKPOINT, load_checkpoint
from rae_nb.config import preset_config
from rae_nb.models import build_model
from conftest import cli

# RAE-GP draws Rademacher probes from torch's generator every step: resuming must restore it, not just the weights.
# 4 steps an epoch, 2 epochs: checkpoints after steps 3, 4 (epoch end), 6 and 8 (end), so a kill can land before the
# first checkpoint, between a checkpoint and the steps after it (replayed on resume, their log records dropped), in
# validation, or in a write
SETTINGS = dict(width_div=64, max_train=400, max_valid=100, epochs=2, checkpoint_every=3, log_every=1)
STEPS, EVERY = 8, 3
TRAIN = ('import sys; from rae_nb.config import preset_config; from rae_nb.learner import train; '
         f"mc, tc = preset_config('rae-gp', 'mnist', 'smoke', **{SETTINGS!r}); "
         "train(mc, tc, sys.argv[1], resume=sys.argv[2:] == ['--resume'], progress=False)")
ENV = dict(os.environ, OMP_NUM_THREADS='2', MKL_NUM_THREADS='2')

def start(out, *extra): return subprocess.Popen([sys.executable, '-c', TRAIN, str(out), *extra], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

def finish(out, *extra):
    p = subprocess.run([sys.executable, '-c', TRAIN, str(out), *extra], env=ENV, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return p

def log_steps(out) -> int:
    try: return max((json.loads(l)['step'] for l in (out/'log.jsonl').read_text().splitlines() if l.strip()), default=0)
    except (FileNotFoundError, json.JSONDecodeError): return 0

def assert_same_run(a:Path, b:Path, context:str=''):
    "Runs `a` and `b` have identical final weights, checkpoint tensors and metadata, and logs (less timings); `context` leads every failure message."
    wa, wb = load_file(str(a/'model.safetensors')), load_file(str(b/'model.safetensors'))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), f'{context}final weights differ'
    (ta, ma), (tb, mb) = load_checkpoint(a/CHECKPOINT), load_checkpoint(b/CHECKPOINT)
    diff = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert ta.keys() == tb.keys() and not diff, f'{context}checkpoint tensors differ: {diff[:5]}'
    same = lambda m: {k: v for k, v in m.items() if k != 'seconds'} # seconds add up over sessions
    assert same(ma) == same(mb), f'{context}checkpoint metadata differ'
    strip = lambda p: [{k: v for k, v in json.loads(l).items() if k != 'seconds'} for l in (p/'log.jsonl').read_text().splitlines()]
    assert strip(a) == strip(b), f'{context}logs differ'

@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp('reference')/'run'
    finish(out)
    return out

def test_kill_at_random_step_then_resume_is_bit_exact(tmp_path, reference):
    target = random.Random().randrange(1, STEPS - 1)
    out = tmp_path/'run'
    p = start(out)
    while log_steps(out) < target and p.poll() is None: time.sleep(0.005)
    assert p.poll() is None, f'the run ended before step {target}: {p.stderr.read()}'
    p.send_signal(signal.SIGKILL); p.wait()
    killed_at = log_steps(out)
    assert not (out/'model.safetensors').exists()
    finish(out, '--resume')
    assert_same_run(out, reference, f'killed at step {killed_at}: ')

def test_kill_during_checkpoint_write_never_corrupts_latest(tmp_path, reference):
    for attempt in range(8):
        out = tmp_path/f'run{attempt}'
        p = start(out)
        partial = []
        while p.poll() is None and not partial:
            partial = [f for f in (os.listdir(out) if out.exists() else []) if f.startswith(f'.{CHECKPOINT}.')]
        p.send_signal(signal.SIGKILL); p.wait()
        left = [f for f in os.listdir(out) if f.startswith(f'.{CHECKPOINT}.')]
        if left: print(f"caught a checkpoint write at attempt {attempt}"); break # the kill landed while a checkpoint was being written
    else: pytest.fail('never caught a checkpoint write in 8 runs')
    if (out/CHECKPOINT).exists(): # the previous checkpoint is whole
        t, meta = load_checkpoint(out/CHECKPOINT)
        assert meta['step'] % EVERY == 0 or meta['in_epoch'] == 0
    finish(out, '--resume')
    assert not [f for f in os.listdir(out) if f.endswith('.partial')]
    assert_same_run(out, reference)

def test_ddp_two_processes_match_one_process_on_the_global_batch(tmp_path, monkeypatch):
    sys.path.insert(0, str(Path(__file__).parent))
    from ddp_worker import MODELS, B
    p = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                        str(Path(__file__).parent/'ddp_worker.py'), str(tmp_path)],
                       env=dict(ENV, OMP_NUM_THREADS='1'), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert (tmp_path/'run'/'result.json').exists() # the whole loop ran in 2 processes
    x = load_dataset('mnist').train.x[:B]
    probes = (torch.randint(0, 2, (B, 1, 32, 32), generator=torch.Generator().manual_seed(1))*2 - 1).double()
    at = [0] # the probes of the images being decoded start at probes[at[0]]
    monkeypatch.setattr(regularizers, 'rademacher_like', lambda x_hat: probes[at[0]:at[0] + len(x_hat)])
    torch.set_default_dtype(torch.float64)
    try:
        for name, kw in deepcopy(MODELS).items():
            ddp = load_file(str(tmp_path/f'{name}.safetensors'))
            mc, _ = preset_config(kw.pop('model'), 'mnist', 'smoke', batch_size=B, **kw)
            def grads(*parts):
                "Mean over slices `parts` of x of the parameter gradients, each part normalized on its own (fresh initial weights each)."
                acc, loss = {}, 0.
                for part in parts:
                    xb, at[0] = x[part], part.start
                    model, objective = build_model(mc)
                    model.load_state_dict({k[5:]: v for k, v in ddp.items() if k.startswith('init.')})
                    model.train()
                    out = objective(model, to_float(xb))
                    out['loss'].backward(); loss += out['loss'].item()/len(parts)
                    for n, q in model.named_parameters(): acc[n] = acc.get(n, 0) + q.grad/len(parts)
                return acc, loss, model
            one, loss, model = grads(slice(0, B))
            for n, g in one.items():
                torch.testing.assert_close(ddp[f'grad.{n}'], g, rtol=1e-9, atol=1e-12, msg=lambda m: f'{name} {n}: {m}')
            for k, v in model.state_dict().items():
                if 'running' in k: torch.testing.assert_close(ddp[f'buffer.{k}'], v, rtol=1e-9, atol=1e-12)
            assert abs(ddp['loss'].mean().item() - loss) < 1e-12
            # without synchronized BatchNorm (each half normalized alone) the gradients are not those of the global batch
            naive, *_ = grads(slice(0, B//2), slice(B//2, B))
            assert max((naive[n] - one[n]).abs().max().item() for n in one) > 1e-6
    finally: torch.set_default_dtype(torch.float32)

def test_gpu_options_run_on_the_cpu_too(tmp_path, smoke_run):
    """bf16 autocast and channels_last (GPU speed options) take the same code path and train to a finite loss, in a process
    that has already trained in fp32 (`smoke_run`): accelerate's one-per-process state must not refuse the new precision."""
    out = tmp_path/'run'
    code, err, _ = cli('train', '--model', 'rae-sn', '--dataset', 'mnist', '--preset', 'smoke', '--epochs', '1', '--quiet',
                       '--mixed-precision', 'bf16', '--channels-last', '--out', out)
    assert code == 0, err
    result = json.loads((out/'result.json').read_text())
    assert result['mixed_precision'] == 'bf16' and math.isfinite(result['best_valid_loss']), result
    assert json.loads((out/'config.json').read_text())['train']['channels_last'] is True
