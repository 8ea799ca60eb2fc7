"The GitHub workflows run this project's own commands: CI is exactly what .ci/run runs, and Pages publishes the folder the docs build writes."
import configparser, re
import yaml
from conftest import ROOT

WORKFLOWS = ROOT/'.github'/'workflows'
cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
settings = cfg['DEFAULT']

def workflow(name) -> dict:
    wf = yaml.safe_load((WORKFLOWS/name).read_text())
    wf['on'] = wf.pop(True, wf.get('on')) # YAML 1.1 reads the key `on` as the boolean true
    return wf

def runs(job) -> list:
    return [s['run'] for s in job['steps'] if 'run' in s]

def uses(job) -> dict:
    "The actions a job uses, by name without the version, with their `with:` settings."
    return {s['uses'].split('@')[0]: s.get('with', {}) for s in job['steps'] if 'uses' in s}

def ci_commands() -> list:
    "The commands .ci/run runs: its lines that are neither comments, shell options nor its change of directory."
    lines = [l.strip() for l in (ROOT/'.ci'/'run').read_text().splitlines()]
    return [l for l in lines if l and not l.startswith(('#', 'set ', 'cd '))]

def test_ci_runs_the_readme_test_command():
    cmds = ci_commands()
    assert len(cmds) == 1 and cmds[0].startswith('bash tools/setup.sh'), cmds
    assert f'\n{cmds[0]}\n' in (ROOT/'README.md').read_text()

def test_test_workflow_runs_exactly_what_ci_runs():
    wf = workflow('test.yaml')
    assert {'push', 'pull_request'} <= set(wf['on'])
    job, = wf['jobs'].values()
    assert job['runs-on'].startswith('ubuntu')
    assert runs(job) == ci_commands()
    assert str(uses(job)['actions/setup-python']['python-version']) == settings['min_python']

def test_deploy_workflow_publishes_the_docs_build():
    wf = workflow('deploy.yaml')
    assert wf['on']['push']['branches'] == [settings['branch']]
    assert {'pages': 'write', 'id-token': 'write'}.items() <= wf['permissions'].items()
    build, deploy = wf['jobs']['build'], wf['jobs']['deploy']
    assert runs(build) == ['bash tools/setup.sh && bash tools/docs.sh']
    assert str(uses(build)['actions/setup-python']['python-version']) == settings['min_python']
    # tools/docs.sh builds the site with tools/docs.py, which writes settings.ini's doc_path; that folder is what gets uploaded
    assert 'tools/docs.py site' in (ROOT/'tools'/'docs.sh').read_text()
    assert uses(build)['actions/upload-pages-artifact']['path'] == settings['doc_path'] == '_docs'
    assert deploy['needs'] == 'build' and 'actions/deploy-pages' in uses(deploy)
    assert deploy['environment']['name'] == 'github-pages'
