"""The project's ResNet-18 (assistant/inference/resnet.py) is torchvision's: the same names and
shapes, the very same weights from the same seed, the same answers with the same weights; and
building it does not import torchvision."""
from __future__ import annotations

import pytest
import torch

from tests.helpers import run_python

torchvision_models = pytest.importorskip("torchvision.models")


@pytest.mark.parametrize("classes", [1000, 25, 3])
def test_a_seeded_build_is_torchvisions_to_the_bit_and_answers_alike(classes):
    from assistant.inference.resnet import ResNet18
    torch.manual_seed(7)
    ours = ResNet18(num_classes=classes).eval()
    torch.manual_seed(7)
    theirs = torchvision_models.resnet18(num_classes=classes).eval()
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    torch.manual_seed(1)
    theirs.load_state_dict({k: (torch.rand_like(v) + 0.5 if k.endswith("running_var") else torch.randn_like(v))
                            if v.is_floating_point() else v for k, v in b.items()})
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x), atol=1e-5)


def test_building_the_bundled_resnet_imports_no_torchvision():
    done = run_python("-c", "import sys; from assistant.inference.architectures import build_model; "
                      "build_model('resnet18', 25); print('torchvision' in sys.modules)", check=True)
    assert done.stdout.strip() == "False"
