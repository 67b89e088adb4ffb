"""Chapter 8's segmentation task and U-Net (solutions.segmentation): the scenes are what they claim,
the network's shapes follow the transposed-convolution arithmetic, the scores are the textbook ones."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from solutions import conv_transpose_output_size
from solutions.segmentation import UNet, _shifted, digit_scenes, iou, pixel_accuracy
from solutions.train import predict_torch, train_torch
from tests.numeric import SETTINGS, seeds


def blobs(m=6, size=12, seed=0):
    """`m` small 'digits': a bright square somewhere in the middle of a dark `size` x `size` image."""
    rng = np.random.default_rng(seed)
    digits = np.zeros((m, size, size))
    for d in digits:
        r, c = rng.integers(3, size - 6, size=2)
        d[r:r + 4, c:c + 3] = rng.uniform(0.6, 1.0)
    return digits


@SETTINGS
@given(st.integers(-3, 3), st.integers(-3, 3), seeds)
def test_shifted_moves_the_image_and_shifts_in_zeros(dy, dx, seed):
    image = np.random.default_rng(seed).uniform(size=(6, 7))
    expected = np.zeros_like(image)
    for r in range(6):
        for c in range(7):
            if 0 <= r - dy < 6 and 0 <= c - dx < 7:
                expected[r, c] = image[r - dy, c - dx]
    np.testing.assert_array_equal(_shifted(image, dy, dx), expected)


def test_scenes_are_seeded_clipped_images_with_binary_masks():
    digits = blobs()
    images, masks = digit_scenes(digits, 5, np.random.default_rng(1), fragment_size=4)
    again, masks_again = digit_scenes(digits, 5, np.random.default_rng(1), fragment_size=4)
    assert images.shape == masks.shape == (5, 12, 12)
    assert masks.dtype == np.int64 and set(np.unique(masks)) <= {0, 1}
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(masks, masks_again)


def test_without_clutter_or_noise_a_scene_is_a_shifted_digit_and_its_mask_its_bright_pixels():
    digits = blobs()
    images, masks = digit_scenes(digits, 8, np.random.default_rng(2), fragments=0, noise=0.0, max_shift=2)
    np.testing.assert_array_equal(masks, images > 0.5)
    for image in images:  # each scene is one of the digits moved by at most 2 pixels each way
        assert any(np.array_equal(image, _shifted(d, dy, dx)) for d in digits
                   for dy in range(-2, 3) for dx in range(-2, 3))


def test_clutter_brightens_the_scene_but_never_enters_the_mask():
    images, masks = digit_scenes(blobs(), 20, np.random.default_rng(3), fragments=4, fragment_size=4, noise=0.0)
    assert (images[masks == 1] > 0.5).all()             # the digit's pixels stay bright under the clutter
    assert ((images > 0.5) & (masks == 0)).any()          # bright clutter outside the digit is background


@pytest.mark.parametrize("kwargs, words", [
    ({"fragment_size": 0}, "fragment_size must be between 1 and 12"),
    ({"fragment_size": 13}, "fragment_size must be between 1 and 12"),
    ({"max_shift": -1}, "max_shift must be between 0 and 11"),
])
def test_digit_scenes_rejects_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        digit_scenes(blobs(), 2, np.random.default_rng(0), **kwargs)


def test_digit_scenes_wants_a_stack_of_images():
    with pytest.raises(ValueError, match="digits must be"):
        digit_scenes(np.zeros((12, 12)), 2, np.random.default_rng(0))


@pytest.mark.parametrize("skips", [True, False])
@pytest.mark.parametrize("height, width", [(28, 28), (12, 20)])
def test_unet_scores_every_pixel_and_its_up_convolutions_follow_the_size_rule(skips, height, width):
    net = UNet(width=4, skips=skips, n_classes=3)
    sizes = {}
    net.up2.register_forward_hook(lambda m, i, o: sizes.update(up2=(i[0].shape[-2:], o.shape[-2:])))
    net.up1.register_forward_hook(lambda m, i, o: sizes.update(up1=(i[0].shape[-2:], o.shape[-2:])))
    out = net(torch.zeros(2, 1, height, width))
    assert out.shape == (2, 3, height, width)
    for before, after in sizes.values():  # 2x2 kernel, stride 2: (n - 1) * 2 + 2 = 2n
        assert tuple(after) == tuple(conv_transpose_output_size(n, 2, stride=2) for n in before)


def test_skips_concatenate_the_encoder_maps():
    """With skips the decoder's first convolutions read twice the channels; the rest is equal."""
    width = 4
    with_skips, without = UNet(width, skips=True), UNet(width, skips=False)
    assert with_skips.dec2[0].in_channels == 4 * width and without.dec2[0].in_channels == 2 * width
    assert with_skips.dec1[0].in_channels == 2 * width and without.dec1[0].in_channels == width
    extra = 9 * (2 * width) * (2 * width) + 9 * width * width   # the weights that read the skip channels
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(with_skips) - count(without) == extra


def test_unet_needs_sizes_divisible_by_four():
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet(4)(torch.zeros(1, 1, 14, 16))


def test_he_initialisation_scales_weights_by_fan_in():
    torch.manual_seed(0)
    net = UNet(width=32)
    conv = net.dec2[0]                     # 128 channels in, 3x3: fan_in 1152
    assert conv.weight.std().item() == pytest.approx((2 / (128 * 9)) ** 0.5, rel=0.05)
    up = net.up2                           # 128 -> 64 channels, 2x2 stride 2: each output sums 128 products
    assert up.weight.std().item() == pytest.approx((2 / 128) ** 0.5, rel=0.05)
    biases = [m.bias.detach() for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert all(float(b.abs().max()) == 0.0 for b in biases)


def test_pixel_accuracy_and_iou_by_hand():
    truth = np.array([[0, 1, 1], [0, 1, 0]])
    guess = np.array([[1, 1, 0], [0, 1, 0]])
    assert pixel_accuracy(guess, truth) == pytest.approx(4 / 6)
    assert iou(guess, truth) == pytest.approx(2 / 4)          # {(0,1), (1,1)} of {(0,0), (0,1), (0,2), (1,1)}
    assert iou(guess, truth, cls=0) == pytest.approx(2 / 4)   # {(1,0), (1,2)} of {(0,0), (0,2), (1,0), (1,2)}
    assert iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0     # no foreground anywhere: nothing to get wrong
    with pytest.raises(ValueError, match="differ in shape"):
        iou(guess, truth[:1])


def test_train_torch_counts_pixels_for_a_segmentation_and_learns_an_easy_one(one_thread):
    """Per-pixel cross-entropy through the chapter-10 training loop: the training accuracy is a
    fraction of pixels, and on clean scenes (no clutter, no noise) a tiny U-Net beats 'all background'."""
    digits = blobs(m=8, size=12)
    images, masks = digit_scenes(digits, 64, np.random.default_rng(0), fragments=0, noise=0.0, max_shift=1)
    torch.manual_seed(0)
    net = UNet(width=4)
    history = train_torch(net, images, masks, epochs=16, batch_size=16, lr=3e-2, device="cpu",
                          progress=False, val=(images, masks))
    assert all(0.0 <= a <= 1.0 for a in history["train_acc"] + history["val_acc"])
    predicted = predict_torch(net, images)
    assert predicted.shape == masks.shape
    assert iou(predicted, masks) > 0.5
