"""Hidden tests of chapter 11 (inside a CNN): `saliency_map`, `fgsm`.

Every case builds its own tiny classifier from a fixed seed, in float64 so that the signs of
small gradients cannot depend on rounding: a linear model whose gradient is known by hand, a
small ReLU/max-pool CNN on one channel, and one on three channels (the saliency map takes the
largest magnitude over channels).
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec, torch_generator

# Libraries that compute saliency maps or attacks for you are not installed; nothing else is forbidden.
FORBIDDEN = ()


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _models():
    """(name, model, input shape (C, H, W), number of classes), all float64, seeded."""
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):  # seed the layers' initialisation, leave the caller's RNG alone
        torch.manual_seed(11)
        linear = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        with torch.no_grad():
            linear[1].weight.copy_(torch.tensor([[1.0, -1.0, 0.0, 2.0], [-1.0, 1.0, 0.0, -2.0]]))
            linear[1].bias.zero_()
        grey = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(4 * 4 * 4, 5))
        colour = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 2, stride=2), nn.Tanh(),
                               nn.Flatten(), nn.Linear(6 * 2 * 2, 3))
    device = _device()
    return [(name, m.double().to(device).eval(), shape, k) for name, m, shape, k in [
        ("linear model", linear, (1, 2, 2), 2),
        ("small grey CNN", grey, (1, 8, 8), 5),
        ("small colour CNN", colour, (3, 6, 6), 3),
    ]]


def _batch(generator, n, shape):
    import torch

    return torch.rand((n, *shape), generator=generator, dtype=torch.float64).to(_device())


def _labels(generator, n, k):
    import torch

    return torch.randint(0, k, (n,), generator=generator).to(_device())


def saliency_cases(rng: np.random.Generator) -> list[Case]:
    import torch

    gen = torch_generator(rng)
    cases = []
    for name, model, shape, k in _models():
        for n in (1, 5):
            cases.append(Case((model, _batch(gen, n, shape), _labels(gen, n, k)), {}, f"{name}, {n} image(s)"))
    name, model, shape, k = _models()[1]
    x = _batch(gen, 3, shape)
    cases.append(Case((model, x, torch.tensor([4, 4, 4], device=_device())), {}, "every image asks for the last class"))
    cases.append(Case((model, x, torch.tensor([0, 5, 1], device=_device())), {},
                      "a label out of range (must raise ValueError)", error="labels that do not match the batch or"
                      " the model's classes"))
    cases.append(Case((model, x, torch.tensor([0, 1], device=_device())), {},
                      "fewer labels than images (must raise ValueError)", error="labels that do not match the batch"))
    return cases


def fgsm_cases(rng: np.random.Generator) -> list[Case]:
    import torch

    gen = torch_generator(rng)
    cases = []
    settings = [(0.1, (0.0, 1.0)), (0.25, None), (0.05, (-1.0, 1.0))]
    for name, model, shape, k in _models():
        for n, (eps, clip) in zip((1, 4, 3), settings):
            x = _batch(gen, n, shape)
            cases.append(Case((model, x, _labels(gen, n, k), eps), {"clip": clip}, f"{name}, eps={eps}, clip={clip}"))
    name, model, shape, k = _models()[1]
    x, labels = _batch(gen, 2, shape), _labels(gen, 2, k)
    cases += [
        Case((model, x, labels, 0.0), {}, "eps = 0 leaves the images as they are"),
        Case((model, x, labels, 0.3), {}, "the default clip is (0, 1)"),
        Case((model, x, labels, 2.0), {"clip": (0.2, 0.6)}, "a large step into a narrow clip range"),
        Case((model, x, labels, -0.1), {}, "a negative eps (must raise ValueError)", error="a negative eps"),
        Case((model, x, torch.tensor([0, 9], device=_device()), 0.1), {},
             "a label out of range (must raise ValueError)", error="labels that do not fit"),
    ]
    return cases


def _on_input_device(fn, case: Case):
    """Call the function and insist that the answer is a tensor on the input's device."""
    import torch

    result = fn(*case.args, **case.kwargs)
    x = case.args[1]
    if not isinstance(result, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(result).__name__}")
    if result.device != x.device:
        raise RuntimeError(f"the result is on {result.device} but the images are on {x.device}")
    return result


SPECS = [
    Spec("saliency_map", "11_inside_a_cnn", cases=saliency_cases, call=_on_input_device, rtol=1e-7, atol=1e-10,
         forbidden=FORBIDDEN),
    Spec("fgsm", "11_inside_a_cnn", cases=fgsm_cases, call=_on_input_device, rtol=1e-7, atol=1e-10,
         forbidden=FORBIDDEN),
]
