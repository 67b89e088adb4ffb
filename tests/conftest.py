"""In CI (CI=true) hypothesis runs derandomized, so a red run is reproducible from the same commit;
on a developer's machine it keeps exploring new examples."""

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def one_thread():
    """One torch thread for the test: the book's networks are too small to gain from more, and on a
    loaded machine the extra threads only wait for each other."""
    import torch  # here, not at the top: most tests never need torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
