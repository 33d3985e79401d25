import pytest
import torch
from torch import nn

from surrogate_hpo.model import ACTIVATIONS, Architecture, build_mlp


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_build_mlp_shapes(act):
    net = build_mlp(91, 70, widths=[32, 16], activations=act)
    assert isinstance(net, nn.Sequential)
    assert net(torch.zeros(5, 91)).shape == (5, 70)
    assert isinstance(net[-1], nn.Linear)  # output layer linear
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [32, 16, 70]


def test_per_layer_activations_and_aliases():
    net = build_mlp(4, 3, widths=[8, 8, 8], activations=["ReLU", "leaky_relu", "Sigmoid"])
    types = [type(m) for m in net]
    assert types == [nn.Linear, nn.ReLU, nn.Linear, nn.LeakyReLU, nn.Linear, nn.Sigmoid, nn.Linear]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(widths=[], activations="relu"), "widths is empty"),
        (dict(widths=[8, 0], activations="relu"), "positive"),
        (dict(widths=[8], activations="swish"), "unknown activation 'swish'"),
        (dict(widths=[8, 8, 8], activations=["relu", "tanh"]), "2 activations for 3 hidden layers"),
    ],
)
def test_build_mlp_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_mlp(4, 3, **kwargs)


def test_architecture_describe_and_parameters():
    arch = Architecture([64, 32], "tanh")
    assert arch.activations == ["tanh", "tanh"]
    assert arch.describe() == "64 tanh -> 32 tanh"
    net = arch.build(91, 70)
    assert arch.n_parameters(91, 70) == sum(p.numel() for p in net.parameters())
    assert Architecture.from_dict(arch.to_dict()) == arch
    with pytest.raises(ValueError):
        Architecture([], "relu")
