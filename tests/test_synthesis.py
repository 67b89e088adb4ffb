"""solutions.synthesis: priors, class-model images, inversion, deep dream and Gram-matrix style
transfer, on tiny fixed-seed models, against loops, closed forms, SciPy and autograd."""

import numpy as np
import pytest
import scipy.ndimage
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnnbook.numeric import REL_ERROR_OK, rel_error
from solutions.synthesis import (
    RandomFeatures,
    class_model_images,
    deep_dream,
    gaussian_blur,
    gaussian_log_prior,
    gram_matrix,
    invert_representation,
    jitter,
    style_transfer,
    total_variation,
    tv_log_prior,
)


def tiny_cnn(seed=0, classes=4):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, classes)).double()
    with torch.no_grad():
        model[0].bias.fill_(0.1)  # ReLUs on at the blank image, where the ascents start (dead ReLUs pass no gradient)
    return model.eval().requires_grad_(False)


def images(shape, seed=0):
    return torch.rand(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


# -- total variation ---------------------------------------------------------------------------

def tv_by_loops(x):
    x = x.numpy()
    n, c, h, w = x.shape
    out = np.zeros(n)
    for k in range(n):
        for ch in range(c):
            for i in range(h):
                for j in range(w):
                    if i + 1 < h:
                        out[k] += abs(x[k, ch, i + 1, j] - x[k, ch, i, j])
                    if j + 1 < w:
                        out[k] += abs(x[k, ch, i, j + 1] - x[k, ch, i, j])
    return out


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6), seed=st.integers(0, 99))
def test_total_variation_is_the_sum_over_all_neighbour_pairs(n, c, h, w, seed):
    x = images((n, c, h, w), seed) * 4 - 2
    assert rel_error(total_variation(x), tv_by_loops(x)) < REL_ERROR_OK


def test_total_variation_of_flat_shifted_and_scaled_images():
    x = images((2, 1, 5, 7))
    assert torch.equal(total_variation(torch.full((1, 2, 4, 4), 0.3)), torch.zeros(1))
    torch.testing.assert_close(total_variation(x + 5.0), total_variation(x))   # edges, not levels
    torch.testing.assert_close(total_variation(-3.0 * x), 3.0 * total_variation(x))
    one = torch.zeros(1, 1, 3, 3)
    one[0, 0, 1, 1] = 1.0
    assert total_variation(one).tolist() == [4.0]


def test_priors_are_log_densities_with_the_right_gradients():
    x = images((2, 1, 5, 5)).requires_grad_(True)
    (grad,) = torch.autograd.grad(gaussian_log_prior(0.3)(x).sum(), x)
    torch.testing.assert_close(grad, -0.6 * x.detach())
    torch.testing.assert_close(tv_log_prior(0.5)(x.detach()), -0.5 * total_variation(x.detach()))
    for prior in (gaussian_log_prior, tv_log_prior):
        with pytest.raises(ValueError, match="non-negative"):
            prior(-1.0)


def test_bad_images_raise():
    with pytest.raises(ValueError, match="N, C, H, W"):
        total_variation(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="N, C, H, W"):
        gram_matrix(np.zeros((1, 1, 2, 2)))


# -- blur and jitter ---------------------------------------------------------------------------

@pytest.mark.parametrize("sigma", [0.5, 0.7, 1.0, 1.6])
def test_gaussian_blur_equals_scipy_mirror_mode(sigma):
    x = images((2, 3, 12, 11))
    expected = np.stack([[scipy.ndimage.gaussian_filter(plane, sigma, mode="mirror", truncate=3.0)
                          for plane in image] for image in x.numpy()])
    assert rel_error(gaussian_blur(x, sigma), expected) < REL_ERROR_OK


def test_gaussian_blur_keeps_flat_images_and_the_mean_and_checks_its_arguments():
    flat = torch.full((1, 1, 8, 8), 0.25, dtype=torch.float64)
    torch.testing.assert_close(gaussian_blur(flat, 1.0), flat)
    x = images((1, 1, 8, 8))
    assert torch.equal(gaussian_blur(x, 0.0), x)
    with pytest.raises(ValueError, match="non-negative"):
        gaussian_blur(x, -1.0)
    with pytest.raises(ValueError, match="larger"):
        gaussian_blur(images((1, 1, 3, 3)), 2.0)


def test_jitter_is_a_circular_shift_undone_by_the_opposite_shift():
    x = images((1, 2, 5, 6))
    moved = jitter(x, (2, -1))
    assert torch.equal(moved[..., 2, 0], x[..., 0, 1])
    assert torch.equal(jitter(moved, (-2, 1)), x)


# -- class-model images ------------------------------------------------------------------------

def test_one_step_with_a_gaussian_prior_is_the_lectures_decay_rule():
    # x1 = (1 - eps1) x0 + eps2 dz_q/dx with eps2 = step_size and eps1 = 2 * step_size * lambda
    model, start, classes = tiny_cnn(), images((2, 1, 8, 8)), torch.tensor([1, 3])
    step, lam = 0.1, 0.05
    x = start.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x)[[0, 1], classes].sum(), x)
    by_hand = (1 - 2 * step * lam) * start + step * grad
    found = class_model_images(model, classes, (1, 8, 8), steps=1, step_size=step,
                               log_prior=gaussian_log_prior(lam), start=start)
    assert rel_error(found, by_hand) < REL_ERROR_OK


def test_log_prob_score_climbs_the_log_softmax():
    model, start, classes = tiny_cnn(), images((2, 1, 8, 8)), torch.tensor([0, 2])
    x = start.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.log_softmax(model(x), dim=1)[[0, 1], classes].sum(), x)
    found = class_model_images(model, classes, (1, 8, 8), steps=1, step_size=0.5, score="log_prob", start=start)
    assert rel_error(found, start + 0.5 * grad) < REL_ERROR_OK


def test_class_model_images_raise_their_class_scores():
    model = tiny_cnn()
    x = class_model_images(model, range(4), (1, 8, 8), steps=30, step_size=0.5, clip=(0.0, 1.0))
    blank = model(torch.zeros_like(x))
    assert (model(x).diagonal() > blank.diagonal() + 0.1).all()      # each image's own class score went up
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_class_model_images_leave_the_model_alone_whatever_the_options():
    model = tiny_cnn()
    before = [p.clone() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    x = class_model_images(model, range(4), (1, 8, 8), steps=10, step_size=0.1, log_prior=tv_log_prior(0.01),
                           blur_every=5, max_jitter=2, noise=0.01, clip=(0.0, 1.0))
    assert x.shape == (4, 1, 8, 8) and x.dtype == torch.float64 and not x.requires_grad
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))
    assert all(torch.equal(p.grad, torch.full_like(p, 7.0)) for p in model.parameters())


def test_class_model_images_are_reproducible_from_the_seed():
    model = tiny_cnn()

    def run(seed):
        return class_model_images(model, [0, 1], (1, 8, 8), steps=5, noise=0.1, max_jitter=2, seed=seed)

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))
    assert torch.equal(class_model_images(model, [0], (1, 8, 8), steps=0), torch.zeros(1, 1, 8, 8, dtype=torch.float64))


def test_without_a_prior_a_relu_network_drives_the_image_norm_up():
    # piecewise linear: along the ascent the score and the image keep growing; a Gaussian prior stops it
    model = tiny_cnn()

    def norms(prior):
        def ascend(start):
            return class_model_images(model, [1], (1, 8, 8), steps=50, step_size=1.0, log_prior=prior, start=start)

        first = ascend(torch.zeros(1, 1, 8, 8, dtype=torch.float64))
        return first.norm().item(), ascend(first).norm().item()   # after 50 and after 100 steps

    free, held = norms(None), norms(gaussian_log_prior(0.5))
    assert free[1] > 1.8 * free[0]
    assert held[1] == pytest.approx(held[0], rel=0.05)


@pytest.mark.parametrize("kwargs, word", [
    (dict(classes=[0, 9]), "lie in"),
    (dict(score="prob"), "score"),
    (dict(step_size=-1.0), "non-negative"),
    (dict(start=torch.zeros(3, 1, 8, 8, dtype=torch.float64)), "3 images for 2 classes"),
])
def test_class_model_images_bad_arguments(kwargs, word):
    args = dict(classes=[0, 1], image_shape=(1, 8, 8), steps=1) | kwargs
    with pytest.raises(ValueError, match=word):
        class_model_images(tiny_cnn(), **args)


# -- inversion and deep dream ------------------------------------------------------------------

def test_inverting_the_identity_recovers_the_image():
    target = images((2, 1, 6, 6))
    found = invert_representation(nn.Identity(), target, steps=300, lr=0.05, tv_weight=0.0)
    assert (found - target).abs().max() < 0.02


def test_inversion_from_a_lossy_code_matches_the_code_and_stays_in_range():
    model, target = tiny_cnn(), images((1, 1, 8, 8))
    layer = model[:3]
    found = invert_representation(layer, target, steps=100, lr=0.05, tv_weight=1e-3)
    assert 0.0 <= found.min() and found.max() <= 1.0
    mismatch = ((layer(found) - layer(target)) ** 2).sum() / (layer(target) ** 2).sum()
    assert mismatch < 0.05


def test_deep_dream_amplifies_the_layer_and_is_reproducible():
    model, photo = tiny_cnn(), images((1, 1, 16, 16))
    layer = model[:2]
    dreamed = deep_dream(layer, photo, steps=20, step_size=0.02, max_jitter=2, seed=1)
    assert (layer(dreamed) ** 2).mean() > 1.5 * (layer(photo) ** 2).mean()
    assert 0.0 <= dreamed.min() and dreamed.max() <= 1.0
    assert torch.equal(dreamed, deep_dream(layer, photo, steps=20, step_size=0.02, max_jitter=2, seed=1))
    assert torch.equal(deep_dream(layer, photo, steps=0), photo)


# -- Gram matrices and style transfer ----------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 2), f=st.integers(1, 5), h=st.integers(1, 5), w=st.integers(1, 5), seed=st.integers(0, 99))
def test_gram_matrix_is_the_average_outer_product_over_positions(n, f, h, w, seed):
    maps = images((n, f, h, w), seed)
    expected = torch.einsum("nfp,ngp->nfg", maps.flatten(2), maps.flatten(2)) / (h * w)
    gram = gram_matrix(maps)
    assert rel_error(gram, expected) < REL_ERROR_OK
    assert torch.allclose(gram, gram.transpose(1, 2))
    assert torch.linalg.eigvalsh(gram).min() > -1e-12      # positive semi-definite


def test_gram_matrix_forgets_where():
    maps = images((1, 4, 5, 6))
    order = torch.randperm(30, generator=torch.Generator().manual_seed(0))
    shuffled = maps.flatten(2)[..., order].reshape(maps.shape)
    assert rel_error(gram_matrix(shuffled), gram_matrix(maps)) < REL_ERROR_OK


def test_random_features_are_same_size_zero_mean_and_seeded():
    features = RandomFeatures(kernel_sizes=(3, 5), channels=4, seed=0)
    x = images((2, 1, 9, 7)).float()
    maps = features(x)
    assert [tuple(m.shape) for m in maps] == [(2, 4, 9, 7), (2, 4, 9, 7)]
    assert all((m >= 0).all() for m in maps)
    assert all(m.abs().max() < 1e-6 for m in features(torch.full((1, 1, 9, 7), 0.7)))  # flat: no response
    again = RandomFeatures(kernel_sizes=(3, 5), channels=4, seed=0)(x)
    assert all(torch.equal(a, b) for a, b in zip(maps, again))
    with pytest.raises(ValueError, match="odd"):
        RandomFeatures(kernel_sizes=(4,))


def test_texture_synthesis_matches_the_style_grams_and_content_alone_keeps_the_content():
    features = RandomFeatures(kernel_sizes=(3, 5), channels=8, seed=0).double()
    style = images((1, 1, 16, 16), 1)
    noise = images((1, 1, 12, 12), 2)

    def style_loss(x):
        return sum(((gram_matrix(a) - gram_matrix(b)) ** 2).sum() / (gram_matrix(b) ** 2).sum()
                   for a, b in zip(features(x), features(style)))

    texture = style_transfer(features, None, style, start=noise, steps=60, lr=0.02)
    assert style_loss(texture) < 0.2 * style_loss(noise)
    assert 0.0 <= texture.min() and texture.max() <= 1.0
    content = images((1, 1, 12, 12), 3)
    kept = style_transfer(features, content, style, start=content, style_weight=0.0, steps=5)
    torch.testing.assert_close(kept, content)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_every_synthesis_runs_on_the_model_device_and_agrees_with_the_cpu():
    model, photo = tiny_cnn(), images((1, 1, 16, 16))
    on_gpu = tiny_cnn().cuda()
    cpu = class_model_images(model, [0, 1], (1, 8, 8), steps=5, log_prior=tv_log_prior(0.01), max_jitter=1, noise=0.01)
    gpu = class_model_images(on_gpu, [0, 1], (1, 8, 8), steps=5, log_prior=tv_log_prior(0.01), max_jitter=1, noise=0.01)
    assert gpu.device.type == "cuda" and rel_error(gpu, cpu) < 1e-6
    dreamed = deep_dream(on_gpu[:2], photo.cuda(), steps=3)
    assert dreamed.device.type == "cuda" and rel_error(dreamed, deep_dream(model[:2], photo, steps=3)) < 1e-6
    features = RandomFeatures(kernel_sizes=(3,), channels=4).double()          # .cuda() moves a module in place:
    features_gpu = RandomFeatures(kernel_sizes=(3,), channels=4).double().cuda()  # a second one for the GPU
    texture = style_transfer(features_gpu, None, photo.cuda(), start=photo.cuda().flip(-1), steps=3)
    assert texture.device.type == "cuda"
    assert rel_error(texture, style_transfer(features, None, photo, start=photo.flip(-1), steps=3)) < 1e-6
