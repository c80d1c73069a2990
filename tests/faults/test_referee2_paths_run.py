"""Referee, round 2: ``jetstudy run`` interrupted while it writes outside its trials.

Ctrl-C while it generates its synthetic jets exits 130 saying nothing started, leaves no half
file among the jets, and the same command then runs the study; SIGTERM while that run writes
its final report exits 130 naming the ``jetstudy report`` command that finishes the job."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.faults.conftest import checksums, jetstudy, plant, study_yaml
from tests.faults.test_referee2_paths_interrupts import _signal_when, _staging, _start, _stopped


@pytest.mark.slow
def test_run_interrupted_in_data_preparation_and_in_its_report(workdir: Path) -> None:
    """Ctrl-C while the synthetic jets are written: exit 130, no study (no config.yaml), no
    half file among the jets; the same command then runs the study. SIGTERM while that run
    writes its report: exit 130, the study is whole and ``jetstudy report`` finishes it."""
    from jetstudy.trainables.synth import synthetic_mark

    config = study_yaml(workdir / "study.yaml", "results", "prep",
                        data={"synthetic_jets": 100_000, "max_jets": 2000})
    folder = workdir / "results" / "prep"
    mine = plant(workdir, ["notes.txt"])
    proc = _start(["run", config.name], workdir)
    err = _stopped(_signal_when(
        proc, lambda: any((folder / "data").glob("jetImage_synth_*.h5")), signal.SIGINT),
        "run's data preparation")
    assert "before the study started" in err
    assert not (folder / "config.yaml").exists()
    assert not list((folder / "data").glob("*.tmp")) and not list((folder / "data").glob(".*.tmp"))
    for h5 in (folder / "data").glob("*.h5"):  # every file there is whole
        assert synthetic_mark(h5) is not None, h5

    proc = _start(["run", config.name], workdir)
    err = _stopped(_signal_when(proc, lambda: (folder / "report").is_dir(), signal.SIGTERM,
                                timeout=400), "run's report")
    assert "interrupted while writing the report" in err and f"jetstudy report {folder}" in err
    assert (folder / "trials.parquet").is_file() and (folder / "best" / "model.pt").is_file()
    assert not _staging(folder / "report", ".report-tmp-")
    done = jetstudy("report", folder, "--no-figures", cwd=workdir)  # the page is what is read
    assert done.returncode == 0, done.stderr[-2000:]
    assert (folder / "report" / "index.html").is_file()
    assert {k: checksums(workdir).get(k) for k in mine} == mine
