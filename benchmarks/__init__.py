"""Benchmarks of the NumPy reference layers against PyTorch on the CPU: `python -m benchmarks`.

See `benchmarks/__main__.py` for what is measured and how to read the table.
"""
