"""Referee round 7: an output that is the study folder itself, and path arguments a user types
that were taken literally (``~``, a newline, raw non-UTF-8 bytes).

* ``report RESULTS -o RESULTS --force`` (also ``-o RESULTS/``, a link to it, a ``..`` detour,
  ``-o .`` inside it) wrote the report's pages among the study's own files; ``synth``,
  ``init`` and ``fetch`` wrote into a study folder given as DIR. Each is refused, nothing
  written.
* ``synth '~/jets'``, ``init '~/proj'``, ``export --out=~/m`` made a folder called ``~`` in the
  current folder (``rm -r ~`` then takes the home folder) while ``report -o`` and the config
  read ``~`` as home: now every path argument does.
* An output folder named with a newline was made (every printed path broke in two); a path
  argument of raw non-UTF-8 bytes was written, then printing it failed with a traceback
  (exit 1) under a strict UTF-8 terminal, and a ``storage.results_dir`` or ``data.path`` of
  raw bytes failed as "Ray did not start" with a claimed study folder left behind.
* Round 6's leftover: ``storage.results_dir`` as a dangling link is told by
  ``os_errors.dangling_link``, the one test of it (paths had its own copy).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jetstudy.study.paths import STUDY_MARK, study_folder
from jetstudy.trainables.errors import ConfigError
from tests.faults.conftest import (checksums, fake_study, hard_link_copy, jetstudy_here,
                                   one_line_error, refused_untouched)


def _study(folder: Path) -> Path:
    """A study folder as jetstudy leaves it (mark, config, tables, its sub-folders)."""
    return fake_study(folder, ("config.yaml", "scaler.json", "trials.parquet", "trials.csv"),
                      ("trials", "data", "best"))


# ---- the study folder itself as an output -----------------------------------------------------

def _ways_to_name(work: Path) -> dict[str, str]:
    """The study folder work/results/st, spelt as a user might (cwd: work)."""
    (work / "elsewhere").mkdir()
    (work / "link").symlink_to("results/st")
    return {"plain": "results/st", "slash": "results/st/", "detour": "elsewhere/../results/st",
            "link": "link", "absolute": str(work / "results" / "st")}


@pytest.mark.parametrize("way", ["plain", "slash", "detour", "link", "absolute"])
def test_report_into_the_study_folder_itself_is_refused(workdir: Path, way: str) -> None:
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.report_folder import plan_report_folder

    _study(workdir / "results" / "st")
    out = workdir / _ways_to_name(workdir)[way]
    before = checksums(workdir)
    with pytest.raises(AnalysisError) as refused:  # not even with --force
        plan_report_folder(out, {"index.html", "summary.md"}, force=True)
    assert "is a study folder itself" in str(refused.value), refused.value
    assert "leave -o out" in str(refused.value)
    assert checksums(workdir) == before


@pytest.mark.parametrize("args", [("synth", "--jets", "100"), ("init",), ("fetch", "hls4ml")],
                         ids=["synth", "init", "fetch"])
@pytest.mark.parametrize("way", ["slash", "link", "detour"])
def test_a_command_writing_into_a_study_folder_is_refused(workdir: Path, args: tuple[str, ...],
                                                          way: str) -> None:
    _study(workdir / "results" / "st")
    where = _ways_to_name(workdir)[way]
    refused_untouched(workdir, *args, where, must=["is a study folder itself",
                                                   "give a folder outside it"])


def test_the_report_folder_inside_a_study_stays_allowed(workdir: Path) -> None:
    """The study's own report/ (and a new folder beside the study) are not the study."""
    from jetstudy.analysis.report_folder import plan_report_folder, report_names

    folder = _study(workdir / "results" / "st")
    assert plan_report_folder(folder / "report", {"index.html"}, force=False,
                              legacy_names=report_names()).out  # as write_report's default
    assert plan_report_folder(workdir / "results" / "rep", {"index.html"}, force=False).out


@pytest.mark.parametrize("way", ["plain", "link"])
def test_report_into_another_studys_report_folder_is_refused(workdir: Path, way: str) -> None:
    """``report A -o B/report`` replaced B's report with A's (all of it listed in B's
    manifest, so not even --force was asked): B's report folder then described A."""
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.report_folder import plan_report_folder, report_names

    other = _study(workdir / "results" / "b")
    (other / "report").mkdir()
    (other / "report" / "index.html").write_text("study b's report\n")
    import hashlib
    import json

    from jetstudy.analysis.report_folder import MANIFEST  # a marked study's report is listed
    digest = hashlib.sha256(b"study b's report\n").hexdigest()
    (other / "report" / MANIFEST).write_text(json.dumps(
        {"written_by": "jetstudy report", "files": {"index.html": [digest]}}))
    out = other / "report"
    if way == "link":
        (workdir / "rep").symlink_to(out)
        out = workdir / "rep"
    before = checksums(workdir)
    with pytest.raises(AnalysisError) as refused:
        plan_report_folder(out, {"index.html"}, force=True)
    assert f"the study {other}'s own report folder" in str(refused.value), refused.value
    assert f"jetstudy report {other}" in str(refused.value)
    assert checksums(workdir) == before
    # the study's own report (its default folder) is still written there
    assert plan_report_folder(other / "report", {"index.html"}, force=True,
                              legacy_names=report_names()).out == other / "report"


@pytest.mark.parametrize("where", ["export/t1", "export/new"])
def test_export_into_another_studys_export_folder_is_refused(workdir: Path, where: str) -> None:
    """``export A -o B/export/<id> --force`` put A's model in place of B's export."""
    for name in ("a", "b"):
        _study(workdir / "results" / name)
    plant = workdir / "results" / "b" / "export" / "t1"
    plant.mkdir(parents=True)
    (plant / "model.onnx").write_bytes(b"study b's model\n")
    refused_untouched(workdir, "export", "results/a", "-o", f"results/b/{where}", "--force",
                      must=["inside the study", "results/b's own export/ folder",
                            "results/a/export/<trial id>"])


# ---- ~, newlines and raw bytes in path arguments -------------------------------------------

def test_a_tilde_the_shell_left_is_the_home_folder(workdir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    home = workdir / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    proc = jetstudy_here("init", "~/proj", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert (home / "proj" / "jetstudy.yaml").is_file()
    assert not (workdir / "~").exists()  # a folder called ~ beside the user's files
    assert str(home / "proj" / "jetstudy.yaml") in proc.stdout


def test_a_tilde_of_no_such_user_is_refused(workdir: Path) -> None:
    refused_untouched(workdir, "synth", "--jets", "100", "~no_such_user_j7/jets",
                      must=["DIR", "no such user", "./~no_such_user_j7/jets"])


@pytest.mark.parametrize("args", [("init", "a\nb"), ("synth", "--jets", "100", "a\tb"),
                                  ("report", "results/st", "-o", "rep\nort"),
                                  ("export", "results/st", "-o", "ex\rport")],
                         ids=["init", "synth", "report", "export"])
def test_an_output_named_with_a_control_character_is_refused(workdir: Path,
                                                             args: tuple[str, ...]) -> None:
    _study(workdir / "results" / "st")
    refused_untouched(workdir, *args, must=["control character", "choose a folder name"])


@pytest.mark.parametrize("args", [("init", "n\udcffo"), ("synth", "--jets", "100", "j\udce9ts"),
                                  ("report", "s\udcff"), ("export", "s\udcff"),
                                  ("report", "results/st", "-o", "r\udcff")],
                         ids=["init", "synth", "report-source", "export-source", "report-out"])
def test_a_path_of_raw_bytes_is_refused_before_any_work(workdir: Path,
                                                        args: tuple[str, ...]) -> None:
    """As the program gets ``b'n\\xffo'`` (surrogate escapes): printing it failed after the
    work under a strict UTF-8 terminal, and the report's UTF-8 pages could not hold it."""
    _study(workdir / "results" / "st")
    err = refused_untouched(workdir, *args, must=["is not UTF-8 text", "\\udc"])
    assert "UTF-8 name" in err or "in UTF-8" in err, err


def test_a_results_dir_of_raw_bytes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        study_folder(tmp_path / "r\udcff", "st")
    assert "storage.results_dir" in str(refused.value) and "not UTF-8" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_a_data_path_of_raw_bytes_is_refused_before_the_folder_is_claimed(
        tmp_path: Path) -> None:
    from jetstudy.study.config import load_config
    from jetstudy.study.prepare import results_folder

    cfg = load_config(None, ["data.path=d\udcff/jets.h5", f"storage.results_dir={tmp_path}",
                             "storage.name=st"])
    with pytest.raises(ConfigError) as refused:
        results_folder(cfg)
    assert "data.path" in str(refused.value) and "not UTF-8" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


# ---- round 6's leftover: one test of a dangling link -----------------------------------------

def test_results_dir_dangling_link_in_the_shared_words(workdir: Path) -> None:
    from jetstudy.study.os_errors import dangling_link

    (workdir / "results").symlink_to("scratch/gone")
    with pytest.raises(ConfigError) as refused:
        study_folder(workdir / "results", "st")
    err = str(refused.value)
    assert dangling_link(workdir / "results") in err, err  # the one wording, not a copy
    assert f"storage.results_dir {str(workdir / 'results')!r}" in err, err
    assert "create the folder it points to" in err, err
    assert not (workdir / "scratch").exists()


# ---- a link of the user's leading into a study's own sub-folder ------------------------------

@pytest.mark.parametrize("part", ["best", "data", "trials/t1"])
@pytest.mark.parametrize("args", [("synth", "--jets", "100"), ("init",), ("fetch", "hls4ml")],
                         ids=["synth", "init", "fetch"])
def test_an_output_that_is_a_link_into_a_study_part_is_refused(workdir: Path, part: str,
                                                               args: tuple[str, ...]) -> None:
    """``DIR`` a link of the user's to ``<study>/best`` (not a folder below the link): the
    link itself was taken as the output's name, so the check found no study above it."""
    folder = _study(workdir / "results" / "st")
    (folder / part).mkdir(exist_ok=True)
    (workdir / "mine").symlink_to(folder / part)
    refused_untouched(workdir, *args, "mine", must=[f"own {part.split('/')[0]}/"])


def test_report_into_a_link_to_best_is_refused_even_with_force(workdir: Path) -> None:
    from jetstudy.study.paths import inside_study_part

    folder = _study(workdir / "results" / "st")
    (workdir / "mine").symlink_to(folder / "best")
    assert inside_study_part(workdir / "mine") == (folder, "best")
    assert inside_study_part(workdir / "mine" / "new") == (folder, "best")
    assert inside_study_part(workdir / "results" / "rep") is None


# ---- rerun --name in its own words -------------------------------------------------------------

@pytest.mark.parametrize("name, why", [("a/b", "path separator"), ("..", "not a folder of its own"),
                                       ("", "it is empty"), ("-x", "starts with '-'"),
                                       ("a\nb", "control character")])
def test_rerun_name_that_is_no_plain_folder_name(workdir: Path, name: str, why: str) -> None:
    """It said 'storage.name must be ...; set e.g. my-study', a field the rerun sets itself."""
    folder = _study(workdir / "results" / "st")
    (folder / "config.yaml").write_text("search: {num_trials: 2}\n")
    err = refused_untouched(workdir, "rerun", "results/st", f"--name={name}",
                            must=[f"--name {name!r}", why, "--name rerun-1"],
                            must_not=["storage.name"])
    assert "rerun" in err


def test_rerun_of_a_study_still_running_is_refused(workdir: Path) -> None:
    """A rerun started while the study's driver ran compared its tables with the study's
    unfinished ones (exit 0, 'reproduced' or a difference that was not one)."""
    from jetstudy.study.lock import StudyLock

    folder = _study(workdir / "results" / "st")
    (folder / "config.yaml").write_text("search: {num_trials: 2}\n")
    with StudyLock(folder):  # a live driver (this process)
        before = {k: v for k, v in checksums(workdir).items() if "driver.lock" not in k}
        proc = jetstudy_here("rerun", "results/st", cwd=workdir)
        err = one_line_error(proc)
        assert "still running" in err and f"pid {os.getpid()}" in err, err
        assert "once the study has finished" in err and "storage.name" not in err, err
        after = {k: v for k, v in checksums(workdir).items() if "driver.lock" not in k}
        assert after == before


# ---- synth into a folder of real data ---------------------------------------------------------

@pytest.mark.parametrize("mine", ["jets.h5", "hls4ml_lhc_jets_hlf.parquet", "table.csv"])
def test_synth_into_a_folder_holding_the_users_data_is_refused(workdir: Path, mine: str) -> None:
    """A config's data.path naming the folder read the made-up jets with the real ones (an
    HDF5 folder: the synthetic files; a table folder: HDF5 first, the table left out)."""
    (workdir / "data").mkdir()
    (workdir / "data" / mine).write_bytes(b"the user's real jets\n")
    refused_untouched(workdir, "synth", "--jets", "100", "data",
                      must=["holds data files jetstudy did not make", mine, "data/synth"])


def test_synth_beside_its_own_files_and_the_users_notes_goes_on(workdir: Path) -> None:
    (workdir / "data").mkdir()
    (workdir / "data" / "notes.txt").write_text("mine\n")
    for seed in ("1", "2"):  # the second beside the first's synthetic file
        proc = jetstudy_here("synth", "--jets", "100", "--seed", seed, "data", cwd=workdir)
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (workdir / "data").iterdir()) == [
        "jetImage_synth_1_0_100.h5", "jetImage_synth_2_0_100.h5", "notes.txt"]


def test_rerun_of_a_study_whose_name_leaves_no_room_for_rerun(tmp_path: Path) -> None:
    """A study named with 255 bytes: its default rerun name ('<name>-rerun') is too long;
    the error blamed a --name the user never gave and suggested a name longer still."""
    from jetstudy.study.rerun import RerunError, plan_rerun

    folder = _study(tmp_path / "results" / ("n" * 255))
    (folder / "config.yaml").write_text("search: {num_trials: 2}\n")
    with pytest.raises(RerunError) as refused:
        plan_rerun(folder)
    text = str(refused.value)
    assert "the rerun's default folder name" in text and "longer than 255 bytes" in text, text
    assert "--name rerun-1" in text and not text.startswith("--name"), text
    assert [p.name for p in (tmp_path / "results").iterdir()] == [folder.name]


def test_a_rerun_stopped_before_its_study_started_is_the_same_commands_to_reuse(
        tmp_path: Path) -> None:
    """SIGTERM during the rerun's data preparation left ``<study>-rerun`` marked, holding its
    jets; the same command then said 'exists already (an earlier rerun?)' for good."""
    from jetstudy.study.rerun import RerunError, plan_rerun

    folder = _study(tmp_path / "results" / "st")
    (folder / "config.yaml").write_text("search: {num_trials: 2}\n")
    stopped = tmp_path / "results" / "st-rerun"
    stopped.mkdir()
    (stopped / STUDY_MARK).write_text("made by jetstudy\n")
    (stopped / "data").mkdir()
    (stopped / "scaler.json").write_text("{}\n")
    assert plan_rerun(folder).folder == stopped
    (stopped / "config.yaml").write_text("started\n")  # a rerun that ran: never reused
    with pytest.raises(RerunError, match="exists already"):
        plan_rerun(folder)
    (stopped / "config.yaml").unlink()
    (stopped / "notes.txt").write_text("mine\n")  # the user's file in it: theirs again
    with pytest.raises(RerunError, match="exists already"):
        plan_rerun(folder)


# ---- a hard-link snapshot of a study (cp -al) -------------------------------------------------

def test_a_hard_link_snapshot_keeps_its_bytes_when_the_study_goes_on(tmp_path: Path) -> None:
    """``cp -al study backup`` then ``--resume``: the study's appends (the epoch logs, the
    Optuna journal, Tune's logs) went into the snapshot's files too, and an epoch log so
    linked failed its trial ('is hard-linked to another file')."""
    from jetstudy.study.hardlinks import unshare_linked_files
    from jetstudy.trainables.trialfiles import append_epoch

    folder = _study(tmp_path / "results" / "st")
    (folder / "trials" / "t1").mkdir()
    (folder / "ray" / "run").mkdir(parents=True)
    files = {"trials/t1/epochs.jsonl": '{"epoch": 1}\n', "optuna.journal": '{"op": 0}\n',
             "ray/run/progress.csv": "epoch\n1\n"}
    for rel, text in files.items():
        (folder / rel).write_text(text)
    (tmp_path / "mine.txt").write_text("the user's\n")
    os.link(tmp_path / "mine.txt", tmp_path / "mine-too.txt")  # nlink 2, but not the study's
    (folder / "notes-link").symlink_to(tmp_path / "mine.txt")
    backup = tmp_path / "backup"
    hard_link_copy(folder, backup)  # what cp -al makes
    before = checksums(backup)
    unshared = unshare_linked_files(folder)
    assert {str(p.relative_to(folder)) for p in unshared} >= set(files)
    append_epoch(str(folder / "trials"), "t1", {"epoch": 2})  # refused while linked
    with open(folder / "optuna.journal", "a") as journal:  # as Optuna's backend appends
        journal.write('{"op": 1}\n')
    assert checksums(backup) == before
    assert (folder / "trials" / "t1" / "epochs.jsonl").read_text().splitlines()[0] == \
        '{"epoch": 1}'
    assert (folder / "optuna.journal").read_text() == '{"op": 0}\n{"op": 1}\n'
    assert os.stat(tmp_path / "mine.txt").st_nlink == 2  # a link never followed
    assert (folder / "notes-link").is_symlink()
