"""The benchmark runs and prints its tables (a smoke test: nothing here looks at the times)."""

from benchmarks.__main__ import main


def test_benchmark_runs_in_quick_mode(capsys):
    assert main(["--quick", "--threads", "1", "--clock", "cpu"]) == 0
    out = capsys.readouterr().out
    for words in ("GFLOP/s", "np/torch", "LeNet conv1", "max-pool overlapping", "naive loops vs vectorised"):
        assert words in out
