"""Started by tests/test_learner.py as `torchrun --standalone --nproc_per_node 2 tests/ddp_worker.py OUT`.

In float64, for each model: one forward/backward of the learner (DDP over gloo, synchronized BatchNorm) on a fixed
global batch of real MNIST, each process holding half of it. Rank 0 writes the initial weights, the averaged gradients
and the BatchNorm running statistics to OUT/<model>.safetensors; the test recomputes them in one process.
The gradient penalty's Rademacher probes are fixed per image (global tensor, sliced by rank) so that both sides use
the same ones. Finally a short smoke `train` checks that the whole loop (validation, checkpoint, log) runs in 2 processes.
"""
import sys
from pathlib import Path
import torch
import torch.distributed as dist
from safetensors.torch import save_file
import rae_nb.regularizers as regularizers
from rae_nb.data import load_dataset
from rae_nb.config import preset_config
from rae_nb.learner import Learner, train

W = 64 # the smallest nets: what is checked does not depend on the width
MODELS = dict(rae_gp=dict(model='rae-gp', lam=1e-2, width_div=W), rae_sn=dict(model='rae-sn', width_div=W), rae_l2=dict(model='rae-l2', lam=1e-3, width_div=W))
B = 8 # global batch

def main(out):
    out = Path(out)
    torch.set_default_dtype(torch.float64)
    x = load_dataset('mnist').train.x[:B]
    rademacher_like = regularizers.rademacher_like
    probes = (torch.randint(0, 2, (B, 1, 32, 32), generator=torch.Generator().manual_seed(1))*2 - 1).double()
    for name, kw in MODELS.items():
        mc, tc = preset_config(kw.pop('model'), 'mnist', 'smoke', batch_size=B, **kw)
        learn = Learner(mc, tc, x, x, progress=False)
        rank, world = learn.rank, learn.world
        assert world == 2, world
        regularizers.rademacher_like = lambda x_hat: probes[rank*B//world:(rank + 1)*B//world]
        init = {f'init.{k}': v.clone() for k, v in learn.model.state_dict().items()}
        learn.net.train()
        loss = learn.forward(x)['loss']
        learn.acc.backward(loss)
        grads = {f'grad.{n}': p.grad for n, p in learn.model.named_parameters()}
        buffers = {f'buffer.{k}': v for k, v in learn.model.state_dict().items() if 'running' in k}
        losses = [torch.zeros(()) for _ in range(world)]
        dist.all_gather(losses, loss.detach())
        if rank == 0: save_file({**init, **grads, **buffers, 'loss': torch.stack(losses)}, str(out/f'{name}.safetensors'))
    torch.set_default_dtype(torch.float32)
    regularizers.rademacher_like = rademacher_like
    mc, tc = preset_config('rae-gp', 'mnist', 'smoke', width_div=W, epochs=1, max_train=200, max_valid=100)
    train(mc, tc, out/'run', progress=False)

if __name__ == '__main__': main(sys.argv[1])
