"""A model is one record: a toy ninth model, defined here and nowhere else, is registered in `MODELS` and then trained,
evaluated (Python and the command line) and reproduced with no other file touched. A run directory written before the
record grew an option with a default still loads and resumes."""
import json
from dataclasses import dataclass, replace
from typing import ClassVar
import pytest
import torch
from rae_nb.models import MODELS, ModelRecord, Official, LossWeights
from conftest import cli

@dataclass(frozen=True)
class L1RAELoss:
    "An RAE with an absolute (power `p`) reconstruction error: the toy objective of the ninth model."
    beta:float
    p:float=1.
    encoder_outputs:ClassVar[int] = 1
    def __call__(self, model, x):
        z = model.encode(x)
        rec = (model.decode(z) - x).abs().pow(self.p).mean()
        latent = self.beta*z.pow(2).mean()
        return dict(loss=rec + latent, rec=rec, latent=latent)

TOY = ModelRecord('Toy-L1', lambda c: L1RAELoss(c.beta, c.options['p']),
                  {'mnist': Official(LossWeights(1e-3), lr=1e-3, epochs=100)}, options=dict(p=1.), family='rae')

@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(MODELS, 'toy-l1', TOY)
    return 'toy-l1'

def test_a_ninth_model_trains_evaluates_and_reproduces(toy, tmp_path, stand_in_fid_network):
    from rae_nb.config import preset_config
    from rae_nb.evaluate import evaluate
    from rae_nb.reproduce import reproduce, table1_md, table2_md
    from rae_nb.testing import stand_in_network
    from rae_nb.cli import build_parser
    mc, _ = preset_config(toy, 'mnist', 'smoke', p=2.)
    assert (mc.beta, mc.lr, mc.width_div, mc.options) == (1e-3, 1e-3, 16, {'p': 2.})
    rows = reproduce('mnist', 'smoke', models=[toy], out=tmp_path/'rep', n_samples=10, progress=False, log=lambda *a: None) # trains, then evaluates
    assert [r['model'] for r in rows] == ['Toy-L1', 'data'] and json.loads((tmp_path/'rep'/f'{toy}-s0'/'result.json').read_text())['steps'] == 2*1000//100
    assert rows[0]['n_density'] == 'gaussian' and all(rows[0]['metrics']['tf1'][f'{c}_fid'] >= 0 for c in ('rec', 'n', 'gmm', 'gmm_plain', 'interp'))
    for table, paper_columns in ((table1_md(rows), 4), (table2_md(rows), 2)): # the paper has no numbers for it: '–' in each paper column
        line = table.split('| Toy-L1 |')[1].split('\n')[0]
        assert line.count('–') == paper_columns, line
    m = evaluate(tmp_path/'rep'/f'{toy}-s0', n_samples=10, progress=False, prd_clusters=3, features=stand_in_network()) # `rae-nb evaluate`'s function
    assert m['model'] == toy and m['gmm_density'] == 'gmm10' and m['metrics']['tf1']['gmm_fid'] >= 0
    args = build_parser().parse_args(['train', '--model', toy, '--dataset', 'mnist']) # the command line offers it: its choices come from the records
    assert args.model == toy

def test_an_old_run_directory_loads_after_the_record_gains_an_option(toy, tmp_path, monkeypatch):
    "A saved config without an option the record has since gained (with a default) is the same run: it loads and resumes."
    from rae_nb.config import preset_config
    from rae_nb.learner import train
    from rae_nb.checkpoint import load_run
    mc, tc = preset_config(toy, 'mnist', 'smoke', epochs=1)
    train(mc, tc, tmp_path/'run', progress=False)
    monkeypatch.setitem(MODELS, toy, replace(TOY, options=dict(p=1., clip=0.5))) # a new option, with a default
    model, mc2, _ = load_run(tmp_path/'run')
    assert mc2.options == {'p': 1., 'clip': 0.5}
    saved = json.loads((tmp_path/'run'/'config.json').read_text())
    assert 'clip' not in saved['config']['options']
    mc2, tc2 = preset_config(toy, 'mnist', 'smoke', epochs=1)
    assert train(mc2, tc2, tmp_path/'run', resume=True, progress=False)['epochs'] == 1 # finished: the same run, done
    for f in ('result.json', 'model.safetensors'): (tmp_path/'run'/f).unlink() # as if stopped after its last checkpoint
    assert train(mc2, tc2, tmp_path/'run', resume=True, progress=False)['epochs'] == 1 # resumes from the old checkpoint
