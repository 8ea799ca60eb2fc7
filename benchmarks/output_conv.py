"""Forward + backward time of the decoder's output convolution: `nn.Conv2d` against rae_nb's `OutputConv`, same weights.

    .venv/bin/python benchmarks/output_conv.py [--batch 100] [--width-divs 4 8] [--repeats 15] [--steps 5] [--no-compile]

The layer as the MNIST decoder runs it: a 32x32 output from the 35x35 zero-padded map of the last transposed
convolution (256/width-div channels), 4x4 kernel, one output channel, followed by the sum that stands in for the loss.
Each form is timed eager and, unless --no-compile, under torch.compile as the cpu and paper presets compile the
decoder; everything alternates (round robin over repeats) so that machine noise hits all alike, and the median over
repeats of the mean step time is reported. FLOPs are those of the convolution (2 per multiply-add, for the forward and
the two backward products), the ceiling a 4096 x 4096 fp32 matrix product measured in the same run.
"""
import argparse, statistics, time
import torch
from torch import nn
from rae_nb.nets import net_spec, OutputConv
from train_step import matmul_ceiling # this folder is on the path when run as a script

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--batch', type=int, default=100)
    p.add_argument('--width-divs', type=int, nargs='*', default=[4, 8])
    p.add_argument('--repeats', type=int, default=15)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--no-compile', dest='compile', action='store_false')
    a = p.parse_args()
    steps, flops = {}, {}
    for wd in a.width_divs:
        s = net_spec('mnist', wd)
        c_in, C, k = s.dec_channels[-1], s.shape[0], s.kernel
        x = torch.randn(a.batch, c_in, 32 + k - 1, 32 + k - 1, requires_grad=True)
        torch.manual_seed(0); conv = nn.Conv2d(c_in, C, k)
        fast = OutputConv(c_in, C, k); fast.load_state_dict(conv.state_dict())
        torch.testing.assert_close(fast(x), conv(x), atol=1e-4, rtol=1e-4)
        for form, m in (('nn.Conv2d', conv), ('OutputConv', fast)):
            for mode in ('eager', 'compiled') if a.compile else ('eager',):
                f = torch.compile(m) if mode == 'compiled' else m
                steps[(wd, f'{c_in} → {C}, {k}', form, mode)] = lambda f=f, x=x: f(x).sum().backward()
        flops[wd] = 3*2*a.batch*32*32*C*c_in*k*k
    for step in steps.values(): step(); step() # warm-up (and compilation)
    times = {key: [] for key in steps}
    for _ in range(a.repeats):
        for key, step in steps.items():
            t = time.perf_counter()
            for _ in range(a.steps): step()
            times[key].append((time.perf_counter() - t)/a.steps)
    ceiling = matmul_ceiling(torch.device('cpu'), torch.float32)
    print(f'cpu ({torch.get_num_threads()} threads), torch {torch.__version__}, batch {a.batch}, MNIST decoder output layer; '
          f'{a.repeats} alternated repeats × {a.steps} steps, median of repeat means; fp32 matmul ceiling {ceiling:.0f} GFLOP/s')
    print('| width ÷ | c_in → C, k | form | mode | ms fwd+bwd | GFLOP/s | % of ceiling | × nn.Conv2d (same mode) |\n|---|---|---|---|---|---|---|---|')
    for (wd, shape, form, mode), ts in times.items():
        m, base = statistics.median(ts), statistics.median(times[(wd, shape, 'nn.Conv2d', mode)])
        gf = flops[wd]/m/1e9
        print(f'| {wd} | {shape} | {form} | {mode} | {1e3*m:.2f} | {gf:.1f} | {100*gf/ceiling:.1f}% | {base/m:.2f} |')

if __name__ == '__main__': main()
