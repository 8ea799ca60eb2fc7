"Every data set's Appendix A nets train: one forward/backward step reaches every parameter with a finite gradient."
import pytest
import torch
from rae_nb.nets import NETS, Encoder, Decoder, net_spec

@pytest.mark.parametrize('name', list(NETS))
@pytest.mark.parametrize('m', [1, 2])
def test_one_step_reaches_every_parameter(name, m):
    torch.manual_seed(0)
    s = net_spec(name, 8)
    enc, dec = Encoder(s, m), Decoder(s)
    x = torch.rand(4, *s.shape)
    z = enc(x)
    x_hat = dec(z if m == 1 else z[:, 0])
    loss = ((x_hat - x)**2).mean()
    loss.backward()
    for mod in (enc, dec):
        for n, p in mod.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
            assert p.grad.abs().sum() > 0, f'{n} gets no gradient'
