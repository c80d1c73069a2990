"""Checkpoints never run code: a planted ``state.pt`` (a pickle whose ``__reduce__`` would
create a marker file) is refused with an error naming it, and the marker is never created."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from jetstudy.study.prepare import check_checkpoints
from tests.faults.conftest import checksums, jetstudy, one_line_error
from jetstudy.trainables.errors import JetstudyError


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: the marker proves code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant_malicious(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({"trainer": _Payload(marker)}, f)


def plant_malicious_torch(path: Path, marker: Path) -> None:
    """The same payload inside torch's own zip format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"trainer": {"epoch": 1}, "evil": _Payload(marker)}, path)


@pytest.mark.parametrize("planter", [plant_malicious, plant_malicious_torch])
def test_planted_checkpoint_is_refused_naming_the_file(tmp_path: Path, planter) -> None:
    marker = tmp_path / "PWNED"
    state = tmp_path / "study" / "trials" / "abc123" / "state.pt"
    planter(state, marker)
    with pytest.raises(JetstudyError) as info:
        check_checkpoints(tmp_path / "study")
    msg = str(info.value)
    assert str(state) in msg and "never runs code" in msg and "delete the trial folder" in msg
    assert not marker.exists()


def test_real_checkpoint_types_load_safely(tmp_path: Path) -> None:
    """What the trial loop saves (tensors, RNG states, plain numbers) passes the check."""
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    state = {"trainer": {"model": model.state_dict(), "optimizer": opt.state_dict(),
                         "epoch": 2, "generator": torch.Generator().get_state(),
                         "torch_rng": torch.get_rng_state()},
             "best": {"epoch": 1, "value": 0.5, "model": model.state_dict()},
             "arch": {"n_inputs": 3, "widths": [2]}, "elapsed_s": 1.5,
             "last_metrics": {"epoch": 2, "val_loss": 0.4, "converged": False}}
    path = tmp_path / "study" / "trials" / "t1" / "state.pt"
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    check_checkpoints(tmp_path / "study")


@pytest.mark.slow
def test_resume_with_a_planted_state_file_exits_2(finished_study, tmp_path: Path) -> None:
    """A copy of a finished study with one trial's state.pt replaced by a malicious pickle:
    ``--resume`` refuses it, naming the file, before anything is written; the code never ran."""
    import shutil

    assert finished_study["proc"].returncode == 0, finished_study["proc"].stderr[-3000:]
    root = finished_study["root"]
    folder = root / "results" / "planted"
    shutil.copytree(finished_study["folder"], folder, symlinks=True)
    victim = sorted((folder / "trials").glob("*/state.pt"))[0]
    marker = tmp_path / "PWNED"
    plant_malicious(victim, marker)
    before = checksums(folder)
    resumed = jetstudy("run", finished_study["config"], "--set", "storage.name=planted",
                       "--resume", "--no-report", cwd=root)
    err = one_line_error(resumed)
    assert str(victim) in err and "never runs code" in err
    assert not marker.exists()
    assert checksums(folder) == before  # refused before anything was written
