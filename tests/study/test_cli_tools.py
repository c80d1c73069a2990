"""``jetstudy --version``, ``config --defaults``, ``init``; the example configs in the wheel;
the progress line's elapsed time and ETA."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from jetstudy.study.cli import main
from jetstudy.study.config import from_dict, load_config
from jetstudy.study.progress import ProgressCounts, format_duration
from jetstudy.study.starter import (STARTER_NAME, commented_yaml, example_config, examples_folder,
                           field_comments)

ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"jetstudy {version('jetstudy')}"


def test_config_defaults_prints_the_full_default_config(capsys) -> None:
    assert main(["config", "--defaults"]) == 0
    text = capsys.readouterr().out
    assert from_dict(yaml.safe_load(text)) == load_config(None)
    defaults = load_config(None).to_dict()
    for section, fields in defaults.items():  # every field is there, each explained
        for name in fields:
            assert f"\n  {name}: " in text, f"{section}.{name}"
    assert text.count("  # allowed: ") == sum(len(f) for f in defaults.values())
    assert main(["config", "--defaults", "--plain"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == defaults


@pytest.mark.parametrize("extra", [["my.yaml"], ["--set", "search.num_trials=5"]])
def test_config_defaults_with_a_config_or_set_is_refused_not_ignored(capsys, extra) -> None:
    assert main(["config", "--defaults", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no defaults printed as if they were that config
    line = captured.err.strip().splitlines()[-1]
    assert line.startswith("error: ") and extra[-1] in line and "drop --defaults" in line, line


def test_config_of_a_file_with_overrides(capsys, tmp_path: Path) -> None:
    assert main(["config", str(example_config("dryrun")), "--set", "search.num_trials=5"]) == 0
    cfg = from_dict(yaml.safe_load(capsys.readouterr().out))
    assert cfg.search.num_trials == 5 and cfg.data.synthetic_jets == 50000


def test_every_field_has_a_comment() -> None:
    from jetstudy.study.config import SECTIONS
    from jetstudy.study.starter import _NOTES

    for name, section in SECTIONS.items():
        comments = field_comments(section)
        for field in section.__dataclass_fields__:
            assert comments.get(field) or f"{name}.{field}" in _NOTES, f"{name}.{field}"


def test_init_writes_a_starter_that_loads(capsys, tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "new")]) == 0
    path = tmp_path / "new" / STARTER_NAME
    assert str(path) in capsys.readouterr().out
    assert load_config(path) == load_config(example_config("dryrun"))
    assert path.read_text().startswith("# jetstudy starter config")
    before = path.read_text()
    assert main(["init", str(tmp_path / "new")]) == 2  # never over the user's file
    assert "exists" in capsys.readouterr().err and path.read_text() == before
    assert main(["init", str(tmp_path / "new"), "--force"]) == 0


def test_commented_yaml_round_trips_every_example() -> None:
    for path in sorted(examples_folder().glob("*.yaml")):
        cfg = load_config(path)
        assert from_dict(yaml.safe_load(commented_yaml(cfg, "header"))) == cfg, path.name


def test_progress_line_has_elapsed_and_eta() -> None:
    counts = ProgressCounts(total=10, metric="val_loss", mode="min", finished=2)
    counts.timing(120.0, 2)  # 2 trials in 2 minutes: 8 left take 8 more
    assert counts.format().endswith("| 2m00s elapsed, ETA 8m00s")
    counts.timing(5.0, 0)
    assert counts.format().endswith("| 5s elapsed, ETA -")
    assert format_duration(7620) == "2h07m"


def test_extras_for_the_tools_the_readme_names() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(r.startswith("tensorboard") for r in extras["viz"])
    assert any(r.startswith("optuna-dashboard") for r in extras["viz"])
    assert any(r.startswith("ray[default]") for r in extras["cluster"])
    readme = (ROOT / "README.md").read_text()
    assert "jetstudy[viz]" in readme and "jetstudy[cluster]" in readme


@pytest.mark.slow
def test_the_wheel_carries_the_configs(tmp_path: Path) -> None:
    """``pip wheel .``, installed apart from the checkout: ``init`` finds the example config
    from any folder. (The full ``jetstudy init . && jetstudy run jetstudy.yaml`` in an empty
    folder was run by hand on this wheel; it takes as long as a dry run.)"""
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file() and not name.startswith(".venv"):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((ROOT / name).read_bytes())
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(wheels)], check=True,
                   capture_output=True)
    (wheel,) = wheels.glob("jetstudy-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"jetstudy/configs/dryrun.yaml", "jetstudy/configs/full.yaml"} <= set(names)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = "import jetstudy.study.cli as cli; print(cli.__file__); cli.main()"
    done = subprocess.run([sys.executable, "-c", code, "init", "."], cwd=empty, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith(str(site))  # the wheel's, not the checkout's
    assert load_config(empty / STARTER_NAME) == load_config(example_config("dryrun"))
