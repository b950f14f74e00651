"""Issue 17.6: a registry entry cannot trust a type with a known code-execution path.

The attack: a joblib file whose pickle builds `jinja2.environment.Template(...)` with an
`extensions` argument. Loading it imports the named module and calls the named function (proved
below in a child process, on a probe module that only writes files). With the type listed in
`trusted_types`, the scan used to pass it.
"""

from __future__ import annotations

import subprocess
import sys

import joblib
import pytest
from pydantic import ValidationError

from aisec_pipeline.inventory.schema import Artifact
from aisec_pipeline.scanning import scan_file
from aisec_pipeline.scanning.pickle_policy import gadget_kind

TEMPLATE = "jinja2.environment.Template"
SHA = "0" * 64


class TemplateGadget:
    def __init__(self, extension: str) -> None:
        self.extension = extension

    def __reduce__(self):
        from jinja2.environment import Template

        return Template, ("{{ 1 }}", "{%", "%}", "{{", "}}", "{#", "#}", None, None, False, False, "\n", False,
                          (self.extension,))


@pytest.fixture
def gadget_file(tmp_path):
    (tmp_path / "probe_ext.py").write_text(
        "import pathlib\npathlib.Path('IMPORTED').touch()\n"
        "def probe(environment):\n    pathlib.Path('CALLED').touch()\n")
    path = tmp_path / "model.joblib"
    joblib.dump(TemplateGadget("probe_ext.probe"), path)
    return path


def test_the_gadget_runs_code_on_load(gadget_file):
    """Not a scan: proof (in a child process, in a scratch folder) that the attack is real."""
    folder = gadget_file.parent
    subprocess.run([sys.executable, "-c", "import joblib; joblib.load('model.joblib')"], cwd=folder,
                   capture_output=True, timeout=120)
    assert (folder / "IMPORTED").exists() and (folder / "CALLED").exists()


def test_trusting_the_template_does_not_pass_the_scan(gadget_file):
    report = scan_file(gadget_file, [TEMPLATE])
    assert report.verdict == "unsafe"
    dangerous = [f for f in report.findings if f.rule == "pickle.dangerous-global"]
    assert any(TEMPLATE in f.detail and "never trusted" in f.detail for f in dangerous)
    assert TEMPLATE not in report.trusted_types_used
    assert not (gadget_file.parent / "IMPORTED").exists()


@pytest.mark.parametrize("name, kind", [
    (TEMPLATE, "template engine"),
    ("mako.template.Template", "template engine"),
    ("numexpr.evaluate", "eval-like"),
    ("hydra.utils.instantiate", "importer"),
    ("subprocess.Popen", "subprocess/OS wrapper"),
    ("builtins.eval", "runs code"),
    ("yaml.unsafe_load", "deserializer"),
])
def test_the_registry_refuses_a_trusted_gadget_and_names_it(name, kind):
    with pytest.raises(ValidationError) as caught:
        Artifact(path="model.joblib", sha256=SHA, trusted_types=("sklearn.linear_model._logistic.LogisticRegression", name))
    message = str(caught.value)
    assert name in message and kind in message
    assert "LogisticRegression" not in message


def test_model_classes_can_still_be_trusted():
    names = ("sklearn.linear_model._logistic.LogisticRegression", "torchvision.models.resnet.ResNet")
    assert Artifact(path="m.pt", sha256=SHA, trusted_types=names).trusted_types == names
    assert [gadget_kind(name) for name in names] == [None, None]
