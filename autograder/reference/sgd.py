"""SGD-family reference rules: PyTorch's SGD, the paper's SGD/SGDW, the problem set's momentum.

Every rule has the course signature ``rule(theta, grad, state, t, **hparams) -> (theta, state)``:
``state`` is a dict of tensors shaped like ``theta`` (zeros before the first step), ``t`` is the
1-based step number, and hyperparameters are floats or tensors that broadcast against ``theta``
(shape [G, 1, ...] trains G configurations at once). Inputs are never modified in place.
"""
from ._util import nonzero


def sgd_torch(theta, grad, state, t, *, lr, l2=0.0, momentum=0.0, dampening=0.0,
              nesterov=False, eta=1.0):
    """``torch.optim.SGD``: L2 enters the gradient, the buffer starts as the first gradient."""
    d = grad + l2 * theta
    if not nonzero(momentum):
        return theta - eta * lr * d, state
    buf = d if t == 1 else momentum * state["buf"] + (1 - dampening) * d
    step = d + momentum * buf if nesterov else buf
    return theta - eta * lr * step, {"buf": buf}


def sgd_paper(theta, grad, state, t, *, lr, l2=0.0, wd=0.0, beta1=0.9, eta=1.0):
    """Loshchilov & Hutter, Algorithm 1: SGD (+L2 through ``l2``) and SGDW (decay ``wd``).

    m_t = beta1 m_{t-1} + eta_t lr (g_t + l2 theta);  theta_t = theta - m_t - eta_t wd theta.
    The decay never enters the momentum buffer and is not multiplied by the learning rate.
    """
    m = beta1 * state["m"] + eta * lr * (grad + l2 * theta)
    return theta - m - eta * wd * theta, {"m": m}


def sgd_problem_set(theta, grad, state, t, *, lr, l2=0.0, wd=0.0, beta1=0.9, eta=1.0):
    """The problem set's Algorithm 1, where beta1 weights the *new* gradient.

    m_t = (1 - beta1) m_{t-1} + beta1 (g_t + l2 theta);  theta_t = theta - eta_t (lr m_t + wd theta).
    """
    m = (1 - beta1) * state["m"] + beta1 * (grad + l2 * theta)
    return theta - eta * (lr * m + wd * theta), {"m": m}

