import torch

from wdlab.model import MLP


def test_hand_written_gradient_matches_autograd(small_data):
    model = MLP(8, (16, 12), 3)
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(3, model.n_params, generator=gen, dtype=torch.float64) * 0.3
    x = small_data.x_train[:50].double()
    y = small_data.y_train[:50]
    onehot = torch.nn.functional.one_hot(y, 3).double()
    loss, grad = model.loss_and_grad(theta, x.T.contiguous(), onehot.T.contiguous())
    for g in range(3):
        net = model.to_modules(theta[g:g + 1])
        ref = torch.nn.functional.cross_entropy(net(x), y)
        ref.backward()
        expected = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
        torch.testing.assert_close(loss[g], ref.detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad[g], expected, rtol=1e-10, atol=1e-12)


def test_modules_round_trip_and_init_bounds():
    model = MLP(5, (7,), 2)
    theta = model.init(seed=4)
    assert theta.shape == (1, model.n_params) == (1, 5 * 7 + 7 + 7 * 2 + 2)
    torch.testing.assert_close(model.from_modules(model.to_modules(theta)), theta)
    w1 = model.unflatten(theta)["w1"]
    assert w1.abs().max() <= 1 / 5 ** 0.5 and w1.std() > 0
    assert not torch.equal(model.init(seed=5), theta)


def test_flops_count_matches_layer_sizes():
    # forward 20*64 + 64*64 + 64*4 multiply-adds; backward twice that minus layer 1's input grad
    assert MLP(20, (64, 64), 4).flops_per_step(100) == 2 * 100 * (3 * 5632 - 1280)


def test_layer_norm_gradient_matches_autograd(small_data):
    model = MLP(8, (16, 12), 3, layer_norm=True)
    theta = model.init(seed=1, dtype=torch.float64).expand(2, -1).clone()
    theta[1] *= 1.7
    x, y = small_data.x_train[:40].double(), small_data.y_train[:40]
    onehot = torch.nn.functional.one_hot(y, 3).double()
    loss, grad = model.loss_and_grad(theta, x.T.contiguous(), onehot.T.contiguous())
    for g in range(2):
        net = model.to_modules(theta[g:g + 1])
        assert any(isinstance(m, torch.nn.LayerNorm) for m in net)
        ref = torch.nn.functional.cross_entropy(net(x), y)
        ref.backward()
        expected = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
        torch.testing.assert_close(loss[g], ref.detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad[g], expected, rtol=1e-9, atol=1e-11)


def test_layer_norm_makes_hidden_weights_scale_invariant(small_data):
    model = MLP(8, (16,), 3, layer_norm=True)
    theta = model.init(seed=2)
    scaled = theta.clone()
    p = model.unflatten(scaled)
    p["w1"].mul_(5.0)
    p["b1"].mul_(5.0)
    torch.testing.assert_close(model.logits(scaled, small_data.x_val), model.logits(theta, small_data.x_val),
                               rtol=1e-4, atol=1e-4)
