"""`jetstudy run` whose final report cannot be written (a read-only report/, a full disk): the
error said "... or choose another folder with -o", an option `run` does not have, and nothing
said the study itself was finished. It now says so and gives the `jetstudy report` commands
(the study's own folder, and elsewhere with -o), exit 2."""
from __future__ import annotations

from pathlib import Path

import yaml


def test_a_run_whose_report_fails_says_the_study_is_finished(ray_cluster, tmp_path: Path,
                                                             capsys, monkeypatch) -> None:
    import jetstudy.analysis.report as report
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.study.cli import main

    def unwritable(folder, **_):  # what report._unwritable raises on a read-only report/
        raise AnalysisError(f"cannot write the report to {folder / 'report'}: read-only file "
                            "system, or choose another folder with -o")

    monkeypatch.setattr(report, "write_report", unwritable)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"synthetic_jets": 3000, "synthetic_seed": 3},
        "space": {"depth": [1, 1], "width": [4, 8]},
        "search": {"num_trials": 1, "max_concurrent": 1, "seed": 1},
        "scheduler": {"max_epochs": 1, "grace_period": 1},
        "training": {"batch_size": 512, "train_eval_jets": 500},
        "resources": {"num_cpus": 1},
        "storage": {"results_dir": str(tmp_path / "results"), "name": "tiny"}}))
    code = main(["run", str(config)])
    err = capsys.readouterr().err
    folder = tmp_path / "results" / "tiny"
    assert code == 2, err
    assert (folder / "trials.parquet").is_file()  # the study itself is whole
    assert "read-only file system" in err and "Traceback" not in err
    assert f"the study in {folder} is finished; only its report is missing" in err
    assert f"  jetstudy report {folder}\n" in err and f"  jetstudy report {folder} -o DIR" in err
