import pytest
import torch

from surrogate_hpo.model import (
    Architecture,
    architecture_of,
    build_mlp,
    load_checkpoint,
    save_checkpoint,
)


def test_round_trip_identical_predictions(tmp_path):
    torch.manual_seed(3)
    net = build_mlp(10, 4, widths=[16, 8], activations=["sigmoid", "leakyrelu"])
    path = save_checkpoint(tmp_path / "m.pt", net, config={"learning_rate": 1e-3},
                           extra={"scaler": {"kind": "standard", "mean": [1.0, 2.0]}})
    ck = load_checkpoint(path)
    assert ck.architecture == Architecture([16, 8], ["sigmoid", "leakyrelu"])
    assert (ck.n_in, ck.n_out) == (10, 4)
    assert ck.extra["scaler"]["mean"] == [1.0, 2.0]
    assert ck.config == {"learning_rate": 1e-3}
    x = torch.randn(7, 10)
    with torch.no_grad():
        assert torch.equal(ck.network(x), net(x))


def test_architecture_of_and_bad_file(tmp_path):
    net = build_mlp(5, 2, widths=[3], activations="tanh")
    arch, n_in, n_out = architecture_of(net)
    assert (arch.widths, arch.activations, n_in, n_out) == ([3], ["tanh"], 5, 2)
    bad = tmp_path / "bad.pt"
    torch.save({"hello": 1}, bad)
    with pytest.raises(ValueError, match="not a surrogate_hpo checkpoint"):
        load_checkpoint(bad)
