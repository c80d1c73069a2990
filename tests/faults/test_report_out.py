"""``jetstudy report RESULTS -o DIR`` writes only into an empty, new or jetstudy-made folder;
``--force`` writes beside other files but never over them; user files survive every case.
One case runs ``jetstudy`` as a subprocess, the others the same command line in this process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jetstudy.analysis.report_folder import MANIFEST
from tests.faults.conftest import (checksums, jetstudy, jetstudy_here, one_line_error, plant,
                                   unchanged)

pytestmark = pytest.mark.slow  # they report on the study of the session fixture


@pytest.fixture
def results(finished_study) -> Path:
    assert finished_study["proc"].returncode == 0, finished_study["proc"].stderr[-3000:]
    return finished_study["folder"]


def test_report_into_a_folder_of_user_files_is_refused(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    planted = plant(out, ["index.html", "roc.png", "pareto.png", "notes/todo.txt"])
    before = checksums(tmp_path)
    err = one_line_error(jetstudy_here("report", results, "-o", out, cwd=tmp_path))
    assert str(out) in err and "jetstudy did not write" in err and "index.html" in err
    assert "--force" in err
    assert checksums(tmp_path) == before and not unchanged(out, planted)
    # --force never overwrites them either
    err = one_line_error(jetstudy_here("report", results, "-o", out, "--force", cwd=tmp_path))
    assert "would overwrite" in err and "index.html" in err
    assert checksums(tmp_path) == before


def test_force_writes_beside_user_files_without_touching_them(results: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "shared"
    planted = plant(out, ["notes.txt", "old/figure.png"])
    proc = jetstudy("report", results, "-o", out, "--force", "--no-figures", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "index.html").is_file() and (out / MANIFEST).is_file()
    assert not unchanged(out, planted)
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert "index.html" in listed and "notes.txt" not in listed


def test_rewriting_an_earlier_report_replaces_only_its_own_files(results: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "report"
    first = jetstudy_here("report", results, "-o", out, "--no-figures", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    again = jetstudy_here("report", results, "-o", out, "--no-figures",  # its own folder:
                          cwd=tmp_path)  # no --force
    assert again.returncode == 0, again.stderr[-3000:]
    # the user edits one of the report's files and adds one of theirs: both are now theirs
    (out / "summary.md").write_text("my edited summary\n")
    planted = plant(out, ["notes.txt"])
    before = checksums(out)
    err = one_line_error(jetstudy_here("report", results, "-o", out, cwd=tmp_path))
    assert "summary.md" in err and "notes.txt" in err
    err = one_line_error(jetstudy_here("report", results, "-o", out, "--force", cwd=tmp_path))
    assert "would overwrite summary.md" in err
    assert checksums(out) == before and not unchanged(out, planted)


def test_report_into_a_file_is_refused(results: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    planted = plant(tmp_path, ["report.html"])
    err = one_line_error(jetstudy_here("report", results, "-o", target, cwd=tmp_path))
    assert "report.html" in err
    assert not unchanged(tmp_path, planted)


EVIL_NAME = "[x](javascript:alert(1))"
EVIL_PATH = "![t](https://example.com/t.png)"


def test_summary_md_keeps_user_text_as_text(finished_study, tmp_path: Path) -> None:
    """A study name and a data path holding Markdown links/images stay text in summary.md."""
    import re
    import shutil

    import yaml

    source = finished_study["folder"]
    folder = tmp_path / "results" / EVIL_NAME
    folder.mkdir(parents=True)
    for name in ("trials.parquet", "epochs.parquet", "data_summary.json", "best"):
        copy = shutil.copytree if (source / name).is_dir() else shutil.copy
        copy(source / name, folder / name)
    config = yaml.safe_load((source / "config.yaml").read_text())
    config["storage"]["name"], config["data"]["path"] = EVIL_NAME, EVIL_PATH
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    proc = jetstudy_here("report", folder, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    md = (folder / "report" / "summary.md").read_text()
    # the config is a fenced YAML block: literal text in any CommonMark renderer, as long as
    # no line in it can close the fence; the checks below are on the Markdown outside it
    fence = re.search(r"^(`{3,})yaml\n(.*?)^\1$", md, flags=re.M | re.S)
    assert fence and EVIL_NAME in fence.group(2) and EVIL_PATH in fence.group(2)
    assert not re.search(r"^ {0,3}```", fence.group(2), flags=re.M)
    md = md[:fence.start()] + md[fence.end():]
    assert "javascript" in md  # the text is there (the name, in the title and the source)...
    assert "\\[x\\](javascript" in md
    links = re.findall(r"(?<!\\)\]\(([^)]*)\)", md)  # ...but the only live links: our figures
    assert links and all(re.fullmatch(r"[a-z_]+\.png", target) for target in links), links
    assert not re.search(r"<(a|img|script)\b", md, re.IGNORECASE)
    page = (folder / "report" / "index.html").read_text()
    assert 'href="javascript' not in page and 'src="https://example.com' not in page
