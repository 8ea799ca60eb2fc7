"Every model record on every data set takes one training step (finite loss, parts adding to the total, finite gradients in both nets); the records hold the official configuration's numbers."
from dataclasses import replace
import pytest
import torch
from rae_nb.nets import NETS
from rae_nb.models import MODELS, paper_config, build_model

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
@pytest.mark.parametrize('name', list(MODELS))
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
    originals = [p for n, p in model.named_parameters() if n.endswith('parametrizations.weight.original')]
    assert len(originals) == 10 # encoder: 4 convolutions, FC; decoder: FC, three ConvT, the output conv (every official config: spec_norm_on_dec_only False)
    assert all(p.grad.abs().sum() > 0 for p in originals)

def test_vae_uses_k_samples():
    "The config's k reaches the VAE's objective: its reconstruction term averages over k posterior samples per image."
    cfg = replace(paper_config('vae', 'cifar10'), width_div=16, options=dict(k=3))
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
        torch.manual_seed(1); one = build_model(replace(cfg, options=dict(k=1)))[1](model, x)['rec']
    assert not torch.allclose(rec, one) # a single sample gives another estimate

def test_hutchinson_gradient_penalty_takes_a_step():
    model, out = one_step(replace(paper_config('rae-gp', 'mnist'), width_div=16, options=dict(gp='hutchinson', gp_probes=2), lam=1.))
    assert out['reg'] > 0

# configurations/config.py of the official repository, transcribed: (embedding_weight, gen_reg_weight, batch_size, epochs) per
# config number; the learning rates are the Adam(lr=...) of models/rae/rae_mnist.py get_vae_mnist (5e-4), rae_celeba.py
# get_vae_cleba (1e-3), models/wae_mmd/get_wae_given_enc_dec.py get_wae (1e-3), models/std_vae/get_vae_given_enc_dec.py get_vae (1e-4).
OFFICIAL_CONFIG = {
    ('wae', 'mnist'): (3e-2, 0, 100, 100, 1e-3), ('vae', 'mnist'): (0.312, 0, 100, 100, 1e-4), ('cv-vae', 'mnist'): (0.0195*2, 0, 100, 100, 1e-4),
    ('rae-gp', 'mnist'): (1e-4, 0.5e-7, 100, 100, 5e-4), ('rae-l2', 'mnist'): (1e-4, 1e-7, 100, 100, 5e-4), ('rae-sn', 'mnist'): (0.009, 0, 100, 100, 5e-4),
    ('rae', 'mnist'): (0.5e-3, 0, 100, 100, 5e-4), ('ae', 'mnist'): (0, 0, 100, 100, 5e-4),
    ('wae', 'cifar10'): (0.006, 0, 100, 70, 1e-3), ('vae', 'cifar10'): (0.024, 0, 100, 100, 1e-4), ('cv-vae', 'cifar10'): (9e-4, 0, 100, 70, 1e-4),
    ('rae-gp', 'cifar10'): (9e-4, 0, 100, 70, 5e-4), ('rae-l2', 'cifar10'): (1e-3, 1e-6, 100, 100, 5e-4), ('rae-sn', 'cifar10'): (0.03, 0, 100, 100, 5e-4),
    ('rae', 'cifar10'): (1e-2, 0, 100, 100, 5e-4), ('ae', 'cifar10'): (0, 0, 100, 100, 5e-4),
    ('wae', 'celeba'): (100, 0, 100, 70, 1e-3), ('vae', 'celeba'): (0.09024, 0, 1000, 70, 1e-4), ('cv-vae', 'celeba'): (0.01, 0, 100, 70, 1e-4),
    ('rae-gp', 'celeba'): (1e-4, 1e-7, 100, 70, 1e-3), ('rae-l2', 'celeba'): (1e-4, 1e-7, 100, 70, 1e-3), ('rae-sn', 'celeba'): (2.4e-3, 0, 100, 70, 1e-3),
    ('rae', 'celeba'): (1e-4, 0, 100, 70, 1e-3), ('ae', 'celeba'): (0, 0, 100, 70, 1e-3),
}

@pytest.mark.parametrize('key', list(OFFICIAL_CONFIG))
def test_records_hold_the_official_configuration(key):
    name, ds = key
    r, (beta, lam, batch, epochs, lr) = MODELS[name], OFFICIAL_CONFIG[key]
    o = r.official[ds]
    assert (o.loss_weights.beta, o.loss_weights.lam) == pytest.approx((beta, lam), rel=1e-12, abs=0)
    assert (o.batch_size, o.epochs, o.lr) == (batch, epochs, lr)
    cfg = paper_config(name, ds)
    assert (cfg.batch_size, cfg.epochs, cfg.lr) == (batch, epochs, lr)

def test_fashion_mnist_uses_mnist_settings():
    for name in MODELS: assert replace(paper_config(name, 'fashion-mnist'), dataset='mnist') == paper_config(name, 'mnist')
