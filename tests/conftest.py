"""In CI (CI=true) hypothesis runs derandomized, so a red run is reproducible from the same commit;
on a developer's machine it keeps exploring new examples."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
