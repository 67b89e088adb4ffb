"""Hidden-test specs, one module per chapter (`ch03_conv1d.py` defines `SPECS = [Spec(...), ...]`)."""
