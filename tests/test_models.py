"Every Table 1 registry entry on every data set takes one training step: finite loss, parts adding to the total, finite gradients in both nets."
from dataclasses import replace
import pytest
import torch
from rae_nb.nets import NETS
from rae_nb.models import OBJECTIVES, paper_config, build_model

def one_step(cfg, n=4):
    torch.manual_seed(0)
    model, objective = build_model(cfg)
    model.train()
    out = objective(model, torch.rand(n, *model.spec.shape))
    assert torch.isfinite(out['loss']), out
    parts = [v for k, v in out.items() if k != 'loss']
    assert len(parts) >= 2
    torch.testing.assert_close(out['loss'], sum(parts))
    out['loss'].backward()
    for net in (model.encoder, model.decoder):
        grads = [p.grad for p in net.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0
    return model, out

@pytest.mark.parametrize('dataset', list(NETS))
@pytest.mark.parametrize('name', list(OBJECTIVES))
def test_every_model_takes_a_step(name, dataset):
    one_step(replace(paper_config(name, dataset), width_div=16))

@pytest.mark.parametrize('name', ['rae-gp', 'rae-l2'])
def test_regularizer_terms_are_live_and_reach_the_decoder(name):
    "With a large lambda the decoder's gradient changes: the penalty (a double backward for the GP) is in the graph."
    cfg = replace(paper_config(name, 'mnist'), width_div=16)
    grads = {}
    for lam in (0., 1.):
        model, out = one_step(replace(cfg, lam=lam))
        grads[lam] = model.decoder.fc.weight.grad.clone()
        assert (out['reg'] > 0) == (lam > 0)
    assert not torch.allclose(grads[0.], grads[1.])

def test_spectral_norm_model_trains_the_original_weights():
    model, _ = one_step(replace(paper_config('rae-sn', 'celeba'), width_div=16))
    originals = [p for n, p in model.decoder.named_parameters() if n.endswith('parametrizations.weight.original')]
    assert len(originals) == 5 # FC, three ConvT, the output conv
    assert all(p.grad.abs().sum() > 0 for p in originals)

def test_vae_uses_k_samples():
    "The config's k reaches the VAE's objective: its reconstruction term averages over k posterior samples per image."
    cfg = replace(paper_config('vae', 'cifar10'), width_div=16, k=3)
    model, out = one_step(cfg)
    assert set(out) == {'loss', 'rec', 'kl'}
    model, objective = build_model(cfg)
    model.eval() # BatchNorm on batch statistics would tie the k decodes together
    x = torch.rand(4, *model.spec.shape)
    with torch.no_grad():
        torch.manual_seed(1); rec = objective(model, x)['rec']
        torch.manual_seed(1); mu, logvar = objective.posterior(model, x)
        z = mu + (0.5*logvar).exp()*torch.randn(3, *mu.shape)
        torch.testing.assert_close(rec, torch.stack([(model.decode(zj) - x).pow(2).mean() for zj in z]).mean())
        torch.manual_seed(1); one = build_model(replace(cfg, k=1))[1](model, x)['rec']
    assert not torch.allclose(rec, one) # a single sample gives another estimate
