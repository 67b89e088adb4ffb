"""Grading through a Dask scheduler: a `LocalCluster` of worker processes on 127.0.0.1 stands in
for lab machines (one cluster for the module; the scheduler gives up on a task after 2 tries)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder import cluster as cluster_module
from autograder.course import REPO
from autograder.grade import grade_class
from tests.submissions import builders
from tests.test_autograder_class import (
    CHAPTER,
    COURSE_ARGS,
    FULL,
    LIMITS,
    _sources,
    fixture_course,
    honest_class,
    put,
    slow_student,
)

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=":0")
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def csv_text(out: Path) -> str:
    return (out / "grades.csv").read_text()


def small_class(root: Path, slow: int = 0) -> Path:
    honest_class(root)
    source, released = _sources()
    put(root, "broken_syntax", builders.syntax_error(released))
    for i in range(slow):  # a worker is surely busy with one of them
        put(root, f"slow_{i}", slow_student(source))
    return root


def test_a_class_graded_through_the_scheduler_gives_the_grades_of_a_local_run(client, tmp_path):
    submissions = small_class(tmp_path / "submitted")
    grade_class(submissions, tmp_path / "local", jobs=2, course=fixture_course(), limits=LIMITS)
    results = grade_class(submissions, tmp_path / "cluster", course=fixture_course(), limits=LIMITS, client=client)
    assert csv_text(tmp_path / "cluster") == csv_text(tmp_path / "local")
    assert {r.isolation for r in results} == {"namespaces"} or {r.isolation for r in results} == {"userns"}
    run = tmp_path / "cluster" / "runs" / "honest_0" / CHAPTER
    assert (run / "executed.ipynb").exists() and (run / "out" / "scale.json").exists()
    assert (tmp_path / "cluster" / "feedback" / "buggy_scale" / f"{CHAPTER}.html").exists()


def test_a_worker_killed_mid_class_loses_nothing(client, tmp_path):
    submissions = small_class(tmp_path / "submitted", slow=4)
    grade_class(submissions, tmp_path / "local", jobs=2, course=fixture_course(), limits=LIMITS)
    pids = client.run(os.getpid)
    killed = []

    def kill_a_busy_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = [a for a, keys in client.processing().items() if any(str(k).startswith("grade-slow") for k in keys)]
            if busy and busy[0] in pids:
                time.sleep(0.1)  # well into the notebook
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    grade_class(submissions, tmp_path / "cluster", course=fixture_course(), limits=LIMITS, client=client)
    killer.join()
    assert killed, "no worker was caught grading"
    assert csv_text(tmp_path / "cluster") == csv_text(tmp_path / "local")
    client.wait_for_workers(2, timeout=120)


class CrashOn(distributed.diagnostics.plugin.WorkerPlugin):
    """Grading `student` ends the worker process, every time, wherever it runs."""

    name = "test-crash-on"

    def __init__(self, student: str):
        self.student = student

    def setup(self, worker):
        from autograder import grade

        real = getattr(grade._grade_safely, "real", grade._grade_safely)
        student = self.student

        def grade_safely(name, *args, **kwargs):
            if name == student:
                os._exit(1)
            return real(name, *args, **kwargs)

        grade_safely.real = real
        grade._grade_safely = grade_safely


def test_a_submission_that_kills_its_worker_every_time_ends_as_one_failed_row(client, tmp_path):
    submissions = small_class(tmp_path / "submitted")
    source, _ = _sources()
    put(submissions, "crash_every_time", builders.reference_student(source))
    client.register_plugin(CrashOn("crash_every_time"))
    try:
        results = {r.student: r for r in grade_class(submissions, tmp_path / "out", course=fixture_course(),
                                                     limits=LIMITS, client=client)}
    finally:
        client.unregister_worker_plugin(CrashOn.name)
    crashed = results.pop("crash_every_time")
    assert crashed.status == "failed" and "ended its cluster worker every time" in crashed.reason
    assert all(r.status == "graded" for r in results.values())
    assert results["honest_0"].score == FULL
    client.wait_for_workers(2, timeout=120)


def test_a_resumed_run_and_a_regrade_give_the_rows_of_a_full_run(client, tmp_path):
    submissions = small_class(tmp_path / "submitted")
    grade_class(submissions, tmp_path / "local", jobs=2, course=fixture_course(), limits=LIMITS)
    out = tmp_path / "cluster"
    kwargs = dict(course=fixture_course(), limits=LIMITS, client=client)
    grade_class(submissions, out, regrade=["honest_0", "buggy_scale"], **kwargs)  # a run stopped early
    assert len(csv_text(out).splitlines()) == 3
    grade_class(submissions, out, **kwargs)                                      # resumed
    assert csv_text(out) == csv_text(tmp_path / "local")
    results = {r.student: r for r in grade_class(submissions, out, regrade=["blank/99_fixture"], **kwargs)}
    assert csv_text(out) == csv_text(tmp_path / "local")
    assert len(results) == len(csv_text(out).splitlines()) - 1


def _set_isolation(level: str | None):
    from autograder import sandbox

    if level is None:
        os.environ.pop("AUTOGRADER_ISOLATION", None)
    else:
        os.environ["AUTOGRADER_ISOLATION"] = level
    return sandbox.isolation(refresh=True)


def test_a_worker_that_cannot_isolate_is_refused_with_the_reason(client, tmp_path, capsys):
    submissions = small_class(tmp_path / "submitted")
    weak, strong = sorted(client.scheduler_info()["workers"])
    client.run(_set_isolation, "none", workers=[weak])
    try:
        results = grade_class(submissions, tmp_path / "out", course=fixture_course(), limits=LIMITS, client=client)
        reports = client.run(cluster_module.worker_report)
    finally:
        client.run(_set_isolation, None, workers=[weak])
        cluster_module.check_workers(client, fixture_course().reference)  # as it was for the other tests
    assert not reports[weak]["ok"] and "cannot isolate" in reports[weak]["reasons"][0]
    assert reports[strong]["ok"]
    assert f"worker {weak}" in capsys.readouterr().err
    assert all(r.status == "graded" and r.isolation != "none" for r in results)


def test_a_worker_running_another_version_of_the_grader_is_refused():
    report = cluster_module.check_worker("0" * 64, "solutions")
    assert not report["ok"] and "deploy the same commit" in report["reasons"][-1]


def _certificate(folder: Path) -> dict[str, str]:
    """A self-signed certificate for every role, as the Dask documentation's TLS example makes."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return {"ca": str(cert), "cert": str(cert), "key": str(key)}


@pytest.mark.skipif(not __import__("shutil").which("openssl"), reason="no openssl to make a certificate")
def test_a_tls_scheduler_is_reached_with_the_dask_configuration_the_readme_gives(tmp_path):
    from distributed.security import Security

    tls = _certificate(tmp_path)
    security = Security(tls_ca_file=tls["ca"], tls_scheduler_cert=tls["cert"], tls_scheduler_key=tls["key"],
                        tls_worker_cert=tls["cert"], tls_worker_key=tls["key"], tls_client_cert=tls["cert"],
                        tls_client_key=tls["key"], require_encryption=True)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  protocol="tls://", security=security, dashboard_address=":0") as tls_cluster:
        submissions = tmp_path / "submitted"
        honest_class(submissions)
        env = dict(os.environ, PYTHONPATH=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                   DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION="True",
                   DASK_DISTRIBUTED__COMM__TLS__CA_FILE=tls["ca"],
                   DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT=tls["cert"],
                   DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY=tls["key"])
        done = subprocess.run([sys.executable, "-m", "autograder", *COURSE_ARGS, "grade", str(submissions),
                               "--out", str(tmp_path / "out"), "--scheduler", tls_cluster.scheduler_address],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert tls_cluster.scheduler_address.startswith("tls://")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on the cluster at tls://" in done.stdout and "graded 6 of 6" in done.stdout
