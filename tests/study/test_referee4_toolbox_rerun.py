"""Referee 4 (toolbox): rerunning a study from its folder after it moved.

The documented rerun was a string in provenance.json: ``cd OLD_CWD && jetstudy run
OLD_FOLDER/config.yaml ...``. A study folder copied to a colleague (or moved), with the data at
another path, could not be rerun from it without editing the config by hand; nothing checked
that the data given instead held the jets the study read (a rerun on other jets looked like a
failed reproduction), and a rerun under another jetstudy/torch version said nothing.
``jetstudy rerun RESULTS [--data PATH]`` does it: folders and data found anew, the data matched
by content (SHA-256), other versions warned about. Hand-made folders; no study runs.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

from jetstudy.study.cli import main
from jetstudy.study.config import from_dict, load_config
from jetstudy.study.fetch import file_sha256
from jetstudy.study.prepare import write_config
from jetstudy.study.provenance import collect
from jetstudy.study.rerun import RerunError, plan_rerun


def _study(root: Path, data_rel: str = "jets/*.h5") -> Path:
    """A finished study's folder as `jetstudy run` left it in ``root/results/s1``, run from
    ``root`` on the jets in ``root/jets``: config.yaml and provenance.json (this machine's)."""
    (root / "jets").mkdir(parents=True)
    files = []
    for i, body in enumerate((b"jets of file zero", b"jets of file one, longer")):
        f = root / "jets" / f"part{i}.h5"
        f.write_bytes(body)
        files.append(f)
    cfg = from_dict({"data": {"path": data_rel}, "search": {"seed": 7, "num_trials": 3},
                     "storage": {"results_dir": "results", "name": "s1"}})
    folder = root / "results" / "s1"
    folder.mkdir(parents=True)
    write_config(cfg, folder)
    record = {**collect("cpu"), "cwd": str(root),
              "data": [{"path": str(f), "bytes": f.stat().st_size, "sha256": file_sha256(f)}
                       for f in files]}
    (folder / "provenance.json").write_text(json.dumps(record))
    return folder


def _set(plan, key: str) -> str:
    return [i for i in plan.overrides if i.startswith(key + "=")][-1].split("=", 1)[1]


def test_a_moved_study_with_moved_data_reruns_beside_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _study(tmp_path / "alice")
    moved = tmp_path / "bob" / "copy-of-s1"
    shutil.copytree(first, moved.parent / moved.name)
    data = tmp_path / "bob" / "hls4ml"  # the same jets, other names, another folder
    data.mkdir()
    for i, f in enumerate(sorted((tmp_path / "alice" / "jets").iterdir())):
        shutil.copy(f, data / f"renamed_{1 - i}.h5")
    shutil.rmtree(tmp_path / "alice")  # the old folder and data are gone
    monkeypatch.chdir(tmp_path)
    plan = plan_rerun(moved, data=str(data))
    assert plan.folder == moved.parent / "copy-of-s1-rerun" and not plan.folder.exists()
    cfg = load_config(plan.config, plan.overrides)
    assert cfg.storage.results_dir == str(moved.parent) and cfg.data.path == str(data)
    assert cfg.search.seed == 7 and cfg.search.num_trials == 3  # the study's settings
    assert not plan.warnings  # same versions, same host, same contents


def test_data_with_other_contents_is_refused_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _study(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.h5").write_bytes(b"jets of file zero")
    (other / "b.h5").write_bytes(b"jets of file ONE, longer")  # same size, other jets
    with pytest.raises(RerunError) as info:
        plan_rerun(folder, data=str(other))
    assert "part1.h5" in str(info.value) and "--any-data" in str(info.value)
    assert main(["rerun", str(folder), "--data", str(other)]) == 2  # one line, nothing made
    assert "error: data.path" in capsys.readouterr().err
    assert not (folder.parent / "s1-rerun").exists()
    (other / "c.h5").write_bytes(b"one more")
    with pytest.raises(RerunError, match="read 2 data file.*3 are found"):
        plan_rerun(folder, data=str(other))
    plan = plan_rerun(folder, data=str(other), any_data=True)  # asked for: done, with a warning
    assert any("data differs" in w for w in plan.warnings)


def test_relative_data_starts_from_the_folder_the_study_ran_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _study(tmp_path / "proj")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # `jets/*.h5` from here matches nothing
    plan = plan_rerun(folder)
    assert _set(plan, "data.path") == json.dumps(str(tmp_path / "proj" / "jets/*.h5"))
    shutil.rmtree(tmp_path / "proj" / "jets")
    with pytest.raises(RerunError, match="not found.*--data PATH"):
        plan_rerun(folder)


def test_other_versions_and_source_are_warned_about(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _study(tmp_path)
    record = json.loads((folder / "provenance.json").read_text())
    record["versions"] |= {"jetstudy": "0.0.1", "torch": "2.2.0"}
    record["git"], record["code_sha256"], record["host"] = None, "0" * 64, "node17"
    (folder / "provenance.json").write_text(json.dumps(record))
    warnings = " | ".join(plan_rerun(folder).warnings)
    assert "jetstudy 0.0.1 -> " in warnings and "torch 2.2.0 -> " in warnings
    assert "code_sha256" in warnings and "node17" in warnings
    record["data"] = None  # no data_summary.json when it started: said, not refused
    (folder / "provenance.json").write_text(json.dumps(record))
    assert any("records no data checksums" in w for w in plan_rerun(folder).warnings)
    (folder / "provenance.json").unlink()  # an older study: said, not refused
    monkeypatch.chdir(tmp_path)  # (relative data.path then starts here)
    assert any("no readable provenance.json" in w for w in plan_rerun(folder).warnings)


def test_fields_the_rerun_sets_and_an_existing_rerun_are_refused(tmp_path: Path) -> None:
    folder = _study(tmp_path)
    for item, fix in (("storage.name=x", "--name NAME"), ("data.path=/d", "--data PATH")):
        with pytest.raises(RerunError, match=fix):
            plan_rerun(folder, overrides=[item])
    (folder.parent / "s1-rerun").mkdir()
    with pytest.raises(RerunError, match="exists already.*--name"):
        plan_rerun(folder)
    assert plan_rerun(folder, name="s1-rerun2").folder.name == "s1-rerun2"
    with pytest.raises(RerunError, match="no config.yaml"):
        plan_rerun(tmp_path / "jets")


def test_provenance_names_the_checked_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    from jetstudy.study.provenance import write_provenance

    folder = _study(tmp_path)
    monkeypatch.chdir(tmp_path)
    record = write_provenance(folder, "cpu")
    words = shlex.split(record["rerun_checked"])
    assert words[:2] == ["jetstudy", "rerun"] and Path(words[2]) == folder
    assert plan_rerun(words[2]).folder == folder.parent / "s1-rerun"


def test_a_study_older_than_a_field_reruns_as_it_ran(tmp_path: Path) -> None:
    """config.yaml from before data.duplicates: the study read every jet as it was (keep);
    a rerun under today's default (error) would refuse or change its data."""
    import yaml

    folder = _study(tmp_path)
    raw = yaml.safe_load((folder / "config.yaml").read_text())
    del raw["data"]["duplicates"]
    (folder / "config.yaml").write_text(yaml.safe_dump(raw))
    plan = plan_rerun(folder)
    assert load_config(plan.config, plan.overrides).data.duplicates == "keep"
    assert any("predates data.duplicates" in w for w in plan.warnings)
    chosen = plan_rerun(folder, overrides=["data.duplicates=drop"])  # said by the user: theirs
    assert load_config(chosen.config, chosen.overrides).data.duplicates == "drop"


def test_unhashed_and_unreadable_records_compare_what_they_hold(tmp_path: Path) -> None:
    from jetstudy.study.rerun import data_differences

    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    a.write_bytes(b"12345")
    b.write_bytes(b"123456789")
    files = [str(a), str(b)]
    past_budget = {"path": "x.h5", "bytes": 9, "sha256": None, "why": "not hashed"}
    gone = {"path": "y.h5", "sha256": None, "why": "not readable now (FileNotFoundError)"}
    hashed = {"path": "z.h5", "bytes": 5, "sha256": file_sha256(a)}
    assert data_differences([hashed, past_budget], files) == []
    assert data_differences([hashed, gone], files) == []  # nothing to compare it with
    assert "sizes differ" in data_differences([hashed, {**past_budget, "bytes": 8}], files)[0]
    assert "z.h5" in data_differences([{**hashed, "sha256": "0" * 64}, gone], files)[0]


def test_compare_runs_ignores_ids_timings_and_row_order(tmp_path: Path) -> None:
    """`jetstudy rerun` ends by saying whether the tables repeat (README's promise on CPU with
    search.max_concurrent 1); a user had to write the comparison by hand."""
    import pandas as pd

    from jetstudy.study.rerun import compare_runs

    first, rerun = tmp_path / "s1", tmp_path / "s1-rerun"
    trials = pd.DataFrame({"trial_id": ["a1", "b2"], "lr": [0.01, 0.002],
                           "best_val_loss": [0.61, 0.65], "wall_time_s": [3.0, 4.0]})
    epochs = pd.DataFrame({"trial_id": ["a1", "b2"], "epoch": [1, 1], "val_loss": [0.61, 0.65],
                           "time_s": [1.0, 2.0]})
    for folder, ids, order in ((first, ["a1", "b2"], [0, 1]), (rerun, ["x9", "y8"], [1, 0])):
        folder.mkdir()
        for table, name in ((trials, "trials"), (epochs, "epochs")):
            t = table.assign(trial_id=ids)
            t = t.assign(**{c: t[c] * 1.5 for c in ("wall_time_s", "time_s") if c in t})
            t.iloc[order].to_parquet(folder / f"{name}.parquet")
    assert compare_runs(first, rerun) == []
    trials.assign(best_val_loss=[0.61, 0.66]).to_parquet(rerun / "trials.parquet")
    assert compare_runs(first, rerun) == ["trials.parquet: best_val_loss differ"]
    epochs.assign(trial_number=[0, 1]).to_parquet(rerun / "epochs.parquet")
    assert "epochs.parquet: columns only in the rerun: trial_number" in compare_runs(first, rerun)


def test_data_fetched_into_this_machines_cache_is_found_by_its_checksum(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A study on the OpenML table fetched on another machine (its cache path) reruns on the
    table `jetstudy fetch` put in this machine's cache: the fetch record's SHA-256 matches."""
    root = tmp_path / "theirs"
    folder = _study(root, data_rel=str(root / "jets" / "part0.h5"))
    record = json.loads((folder / "provenance.json").read_text())
    record["data"] = record["data"][:1]
    (folder / "provenance.json").write_text(json.dumps(record))
    table = root / "jets" / "part0.h5"
    cache = tmp_path / "mine" / "hls4ml"
    cache.mkdir(parents=True)
    shutil.copy(table, cache / "hls4ml_lhc_jets_hlf.h5")
    (cache / ".jetstudy-fetch.json").write_text(json.dumps(
        {"hls4ml_lhc_jets_hlf.h5": {"url": "x", "sha256": file_sha256(table), "size": 17}}))
    shutil.rmtree(root / "jets")
    monkeypatch.setenv("JETSTUDY_DATA", str(tmp_path / "mine"))
    plan = plan_rerun(folder)
    assert _set(plan, "data.path") == json.dumps(str(cache / "hls4ml_lhc_jets_hlf.h5"))
    assert sum(i.startswith("data.path=") for i in plan.overrides) == 1
    assert any("fetched by `jetstudy fetch`" in w for w in plan.warnings)
    (cache / "hls4ml_lhc_jets_hlf.h5").write_bytes(b"other jets of the same size")
    with pytest.raises(RerunError, match="--data PATH"):  # not found, not silently other data
        plan_rerun(folder)
