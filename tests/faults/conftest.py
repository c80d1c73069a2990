"""The fault suite: each case runs ``jetstudy`` as a subprocess, the way a user would, and checks
the exit status, the message, and that no file of the user's changed (checksums before/after).

Helpers:

* :func:`jetstudy` runs ``python -m study.cli ARGS`` in a folder with a clean environment;
  :func:`jetstudy_here` runs the same command line in this process (cases that stop before a
  study starts: no fresh interpreter's imports to pay for);
* :func:`checksums` maps every file under a folder (links as ``-> target``) to its SHA-256, so
  ``checksums(x) == before`` proves every byte survived;
* :func:`plant` writes user files with distinct contents;
* :func:`config_file_error`: the error a config file's text is refused with;
* :func:`study_yaml` writes a tiny study config (1,000 synthetic jets, 2 trials of 1 epoch).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def jetstudy(*args: str, cwd: Path, env: dict[str, str] | None = None,
             timeout: float = 240) -> subprocess.CompletedProcess:
    """Run the ``jetstudy`` command line (``python -m study.cli``) in ``cwd``; text output."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_DEDUP_LOGS": "1",
                "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "jetstudy.study.cli", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def jetstudy_here(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The same command line run in this process (``jetstudy.study.cli.main``, from ``cwd``): for cases
    that stop before any study starts, without paying a fresh interpreter's imports."""
    import contextlib
    import io

    from jetstudy.study.cli import main

    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["jetstudy", *map(str, args)], code, out.getvalue(),
                                       err.getvalue())


def one_line_error(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    """The ``error: ...`` line of a command that must fail with ``code`` and no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


def argparse_refusal(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """``jetstudy`` ``args`` refused by argparse in this process: exit 2, one error line, no
    traceback; (that line, the whole of stderr)."""
    from jetstudy.study.cli import main

    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0], err


def checksums(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root`` (links by their target, not
    followed; folders by their presence)."""
    out: dict[str, str] = {}
    root = Path(root)
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def plant(folder: Path, names: Iterable[str]) -> dict[str, str]:
    """Write user files (distinct bytes each) under ``folder``; returns their checksums."""
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"user's own {name}: keep me\n".encode() + os.urandom(16))
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def fake_study(folder: Path, files: Iterable[str], folders: Iterable[str]) -> Path:
    """A study folder as jetstudy leaves it (its mark, then ``files``, each holding its own
    name, and empty ``folders``), for the checks that read no table."""
    from jetstudy.study.paths import STUDY_MARK

    folder.mkdir(parents=True)
    (folder / STUDY_MARK).write_text("made by jetstudy\n")
    for name in files:
        (folder / name).write_text(f"{name}\n")
    for name in folders:
        (folder / name).mkdir()
    return folder


def hard_link_copy(folder: Path, backup: Path) -> None:
    """What ``cp -al folder backup`` makes: every file hard-linked, links (symbolic) skipped."""
    for dirpath, _, names in os.walk(folder):
        for name in names:
            src = Path(dirpath) / name
            dst = backup / src.relative_to(folder)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not src.is_symlink():
                os.link(src, dst)


def unchanged(folder: Path, planted: dict[str, str]) -> list[str]:
    """Names among ``planted`` whose bytes changed or that are gone (empty when all survived)."""
    now = checksums(folder)
    return [n for n, digest in planted.items() if now.get(n) != digest]


TINY_STUDY: dict[str, dict[str, Any]] = {
    "data": {"synthetic_jets": 1000, "synthetic_seed": 1},
    "space": {"depth": [1, 1], "width": [4, 8]},
    "search": {"num_trials": 2, "max_concurrent": 1, "seed": 0},
    "scheduler": {"type": "fifo", "max_epochs": 1, "grace_period": 1},
    "training": {"batch_size": 256, "train_eval_jets": 200},
    "resources": {"num_cpus": 1},
}


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A gzipped tar archive holding ``members`` (name -> bytes), as the fetch tests serve."""
    import io
    import tarfile

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return data.getvalue()


def hdf5_archive(folder: Path) -> Path:
    """``folder/hls4ml_hdf5.tar.gz`` laid out as fetch downloads it: one 5-byte ``jets.h5``."""
    archive = folder / "hls4ml_hdf5.tar.gz"
    archive.write_bytes(tar_gz({"jets.h5": b"jets\n"}))
    return archive


def refused_untouched(work: Path, *args: str, must: Iterable[str],
                      must_not: Iterable[str] = (), fresh: bool = False,
                      timeout: float = 240) -> str:
    """Run the command line in ``work`` (in this process, or a ``fresh`` interpreter with a
    time limit): it must fail with one ``error:`` line holding every text of ``must`` and none
    of ``must_not``, and leave every file in ``work`` as it was. Returns that line."""
    before = checksums(work)
    proc = jetstudy(*args, cwd=work, timeout=timeout) if fresh else jetstudy_here(*args, cwd=work)
    err = one_line_error(proc)
    for text in must:
        assert text in err, (text, err)
    for text in must_not:
        assert text not in err, (text, err)
    assert checksums(work) == before  # nothing written (no results/), nothing changed
    return err


def config_file_error(folder: Path, text: str | bytes) -> tuple[Path, str]:
    """``text`` written as ``folder/c.yaml`` (bytes as they are, a str as UTF-8), which
    ``load_config`` must refuse with a ConfigError: the file's path and the error's words."""
    from jetstudy.study.config import load_config
    from jetstudy.trainables.errors import ConfigError

    path = folder / "c.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    return path, str(refused.value)


def study_yaml(path: Path, results_dir: Path | str, name: str | None = None,
               **sections: dict[str, Any]) -> Path:
    """Write a tiny study config to ``path`` (sections override field by field)."""
    raw = {k: dict(v) for k, v in TINY_STUDY.items()}
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    raw["storage"] = {"results_dir": str(results_dir), "name": name, **raw.get("storage", {})}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty working folder for one case (the subprocess's cwd)."""
    work = tmp_path / "work"
    work.mkdir()
    return work


#: User files planted around a study before it runs: beside results_dir (its parent), inside
#: results_dir, and a data file where `storage.name: ..` once made the clean-up delete it.
PLANTED_AROUND = ("notes.txt", "data/my_real_jets.h5", "results/keep.txt",
                  "results/other-study/trials.parquet", "results/data/jets.h5")


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tiny study run by ``jetstudy run`` (with its report) among planted user files:
    ``root`` (the cwd), ``folder`` (the study), ``planted`` (checksums), ``proc``."""
    root = tmp_path_factory.mktemp("planted")
    planted = plant(root, PLANTED_AROUND)
    config = study_yaml(root / "study.yaml", "results", "tiny")
    proc = jetstudy("run", config, cwd=root)
    return {"root": root, "folder": root / "results" / "tiny", "planted": planted,
            "proc": proc, "config": config}


# one study interrupted (Ctrl-C, kill -9) and resumed, shared by test_interrupt.py and
# test_resume_config.py (session fixtures: each step runs once)
from tests.faults.flows import interrupted_study, resumed_study  # noqa: E402,F401
