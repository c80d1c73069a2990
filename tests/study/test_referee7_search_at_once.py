"""Round 7: the kind sentence's "N at a time" said ``search.max_concurrent`` (capped at
``search.num_trials``) even when the machine holds fewer unpacked trials at once: 6 at a time
on 2 CPUs of 1 CPU a trial, where Ray runs 2 and the others wait. It now says what the
resources allow (``jetstudy.study.concurrency``: the CLI's line from this machine's CPUs, the
report's from ``provenance.json``'s ``sampler.trials_at_once``, which the driver records once
Ray is up) and the start warns. Hand-made configs and node shapes; no Ray."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

from jetstudy.analysis.sections_search import kind_lines
from jetstudy.study.cli import describe_kind
from jetstudy.study.concurrency import concurrency_warning, trials_at_once
from jetstudy.study.config import from_dict
from jetstudy.study.resources import NodeShape
from jetstudy.study.searcher import sampler_record

SPACE = {"depth": [1, 2], "width": [4, 32]}


def _cfg(**resources):
    return from_dict({"space": SPACE, "search": {"num_trials": 8, "max_concurrent": 6},
                      "scheduler": {"max_epochs": 2, "grace_period": 1},
                      "resources": {"num_cpus": 2, "cpus_per_trial": 1, **resources}})


def test_the_cli_kind_line_says_what_the_cpus_hold() -> None:
    assert ", 2 at a time, " in describe_kind(_cfg())
    assert ", 4 at a time, " in describe_kind(_cfg(num_cpus=8, cpus_per_trial=2))
    assert ", 6 at a time, " in describe_kind(_cfg(num_cpus=16))  # max_concurrent the cap
    # packed trials: the packs must all fit (refused otherwise), every trial runs at once
    assert ", 6 at a time, " in describe_kind(_cfg(pack_size=3))


def test_the_start_warns_naming_the_field_the_value_and_the_fix() -> None:
    two_cpus = [NodeShape(2.0, 0.0)]
    text = concurrency_warning(_cfg(), two_cpus)
    assert text is not None
    assert text.startswith("search.max_concurrent is 6, but the Ray cluster (1 node: 2 CPUs, "
                           "no GPU) holds only 2 trial(s) of 1 CPU (resources.cpus_per_trial)")
    assert "set search.max_concurrent to 2, or lower resources.cpus_per_trial" in text
    gpus = concurrency_warning(_cfg(gpus_per_trial=0.5, pack_size=0), [NodeShape(16.0, 1.0)])
    assert gpus is not None and "holds only 2 trial(s)" in gpus
    assert "0.5 GPUs (resources.gpus_per_trial)" in gpus
    assert concurrency_warning(_cfg(), [NodeShape(8.0, 0.0)]) is None  # 6 fit
    assert concurrency_warning(_cfg(), None) is None  # not known: no claim
    # an autoscaler adding nodes without limit holds them all
    assert trials_at_once(_cfg(), [NodeShape(2.0, 0.0), NodeShape(4.0, 0.0, count=None,
                                                                    scalable=True)]) == 6
    assert trials_at_once(_cfg(), [NodeShape(math.inf, 0.0)]) == 6


def test_the_report_kind_line_says_what_the_cluster_held(tmp_path: Path) -> None:
    cfg = _cfg()
    record = {**sampler_record(cfg), "trials_at_once": 2}
    (tmp_path / "provenance.json").write_text(json.dumps({"sampler": record}))
    (line,) = kind_lines(SimpleNamespace(config=cfg.to_dict(), folder=tmp_path))
    assert ", 8 trials, 2 at a time, " in line
    (tmp_path / "provenance.json").write_text(json.dumps({"sampler": sampler_record(cfg)}))
    (line,) = kind_lines(SimpleNamespace(config=cfg.to_dict(), folder=tmp_path))
    assert ", 8 trials, 6 at a time, " in line  # an older study: what its config asked
