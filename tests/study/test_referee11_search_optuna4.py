"""Round 11: a size-aware TPE search (``search.objectives: [metric, size]``) on Optuna 4.x, which
``pyproject.toml`` allows, ended in a raw TypeError at the first proposal from TPE's model
after a pruned trial (an ASHA stop, a diverged trial): 4.x's multi-objective TPE weighs its
"good" trials by their values, a pruned trial's being None (checked on Optuna 4.5.0 installed
beside; Optuna 5 ranks pruned trials). The config check now refuses it on Optuna 4.x, naming
the version and the fixes. No Ray."""

from __future__ import annotations

import pytest

import jetstudy.study.search_rules as search_rules
from jetstudy.study.config import from_dict
from jetstudy.trainables.errors import ConfigError

SIZE_AWARE = {"search": {"objectives": ["val_loss", "n_params"]}}


def test_a_size_aware_tpe_search_is_refused_on_optuna_4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_rules, "optuna_major", lambda: 4)
    with pytest.raises(ConfigError) as err:
        from_dict(SIZE_AWARE)
    assert str(err.value) == (
        "search.objectives is ['val_loss', 'n_params'] (a size-aware TPE search), but the "
        "installed Optuna 4.x's multi-objective TPE fails on the pruned trials ASHA stops and "
        "diverged trials leave; install Optuna 5 (pip install 'optuna>=5,<6'), or set "
        "search.sampler to random, or leave search.objectives out")
    # random search and a single objective are not Optuna's multi-objective TPE
    from_dict({"search": {**SIZE_AWARE["search"], "sampler": "random"}})
    from_dict({"search": {"objectives": ["val_loss"]}})


def test_optuna_5_takes_it() -> None:
    if search_rules.optuna_major() < 5:
        pytest.skip("Optuna 4.x installed: refused, as above")
    assert from_dict(SIZE_AWARE).size_objective == "n_params"


def test_why_optuna_4_is_refused(tmp_path) -> None:
    """On Optuna 4.x itself: the search as it would have run fails inside Optuna."""
    if search_rules.optuna_major() >= 5:
        pytest.skip("needs Optuna 4.x (e.g. PYTHONPATH to a pip --target install of 4.5.0)")
    from tests.study import test_referee11_search_diverged_rank as diverged

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(search_rules, "optuna_major", lambda: 5)  # past the check
    try:
        with pytest.raises(TypeError, match="NoneType"):
            diverged._search(tmp_path, ["val_loss", "n_params"], n=12)
    finally:
        monkeypatch.undo()
