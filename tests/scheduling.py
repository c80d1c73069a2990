"""How ``make test`` spreads the test files over its xdist workers (``-n 3 --dist loadfile``,
which ``tests/conftest.py`` refines with :class:`GroupScheduling` and :func:`order`).

Two rules, both about the 2-core CI machine:

* **Files sharing a session study run in one worker.** ``finished_study``,
  ``interrupted_study`` and ``resumed_study`` (``tests/faults/``) run a real study once per
  *worker*; with one file per work unit, three workers ran ``finished_study`` three times and
  the interrupt/resume flow twice. Every file that names one of them joins that fixture's group
  (so a new test file using it needs nothing here). xdist's own ``--dist loadgroup`` cannot do
  this on pytest 9 (it renames ``item._nodeid``, which pytest 9 no longer reads: every test
  became its own unit, re-running each module's shared study in every worker).
* **Longest work first.** A worker that picks up a two-minute file last runs alone while the
  other two idle; the groups start in order of their cost (:data:`COST`), longest first (the
  longest-processing-time rule), and the many quick files fill the gaps at the end.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

ROOT = Path(__file__).resolve().parents[1]

#: Session fixtures that run a study (or make another costly shared result): every file using one
#: goes into the group named here.
SHARED_STUDIES: dict[str, str] = {
    "finished_study": "faults-finished-study",
    "interrupted_study": "faults-interrupted-study",
    "resumed_study": "faults-interrupted-study",
    # not a study: the full report of tests/analysis/conftest.py's study_dir (~5 CPU-s)
    "full_report": "analysis-full-report",
}

#: Rough seconds per file (a full ``make test`` with ``--junitxml`` on a fresh clone, 2026-11-29
#: 00:09 (session 11), 3 workers on the 2 shared cores: each file's tests summed, 3283 s in all
#: against a wall of 1130 s; every file over 3 s). Files changed since are scaled by the CPU
#: ratio (whole process tree, Ray included) measured back to back on that file. Only the order
#: matters; refresh it when a file's cost changes a lot. A file not listed (new ones) costs
#: :data:`SLOW_TEST_COST` per ``slow``-marked test (an end-to-end study) and nothing otherwise.
COST: dict[str, float] = {
    "tests/study/test_resume.py": 175,
    "tests/analysis/test_planted_study.py": 118,
    "tests/faults/test_interrupt.py": 115,
    "tests/bench/test_bench.py": 108,
    "tests/bench/test_trial_memory.py": 108,
    "tests/study/test_referee_search_resume.py": 103,
    "tests/study/test_scan.py": 101,
    "tests/trainables/test_pack_server.py": 93,
    "tests/study/test_referee2_search_resume.py": 92,
    "tests/faults/test_referee3_paths_stops.py": 90,
    "tests/study/test_faults.py": 83,
    "tests/analysis/test_report.py": 79,
    "tests/faults/test_referee2_paths_run.py": 69,
    "tests/study/test_objectives.py": 65,
    "tests/study/test_referee2_search_ctrlc.py": 63,
    "tests/study/test_referee4_packed_resume.py": 61,
    "tests/study/test_referee7_search_crash_resume.py": 61,
    "tests/study/test_referee8_toolbox_readers.py": 61,
    "tests/faults/test_resources.py": 59,
    "tests/study/test_packed_study.py": 58,
    "tests/faults/test_shadowing.py": 56,
    "tests/study/test_referee10_search_ctrlc_draws.py": 56,  # 3 runs of a 5-trial search
    "tests/faults/test_paths.py": 54,
    "tests/study/test_referee_search_budget.py": 54,
    "tests/study/test_multinode.py": 53,
    "tests/study/test_referee_search_best.py": 51,
    "tests/study/test_setup.py": 50,
    "tests/study/test_referee_search_objectives.py": 48,
    "tests/faults/test_referee_paths_kill.py": 47,
    "tests/analysis/test_referee2_report_study.py": 42,
    "tests/analysis/test_report_layout.py": 42,
    "tests/faults/test_lock.py": 42,
    "tests/study/test_export.py": 42,
    "tests/study/test_referee4_packed_semantics.py": 41,
    "tests/faults/test_referee10_paths_readonly.py": 40,  # 4 CLI runs in a mount namespace
    "tests/study/test_patience_study.py": 38,
    "tests/faults/test_referee6_paths_hangup.py": 37,
    "tests/study/test_study_e2e.py": 37,
    "tests/trainables/test_packed_trial_imports.py": 37,
    "tests/faults/test_referee_data.py": 35,
    "tests/faults/test_sigterm.py": 35,
    "tests/study/test_referee3_search_budget.py": 33,
    "tests/study/test_repro.py": 26,
    "tests/trainables/test_loop.py": 26,
    "tests/analysis/test_referee8_report_no_figures.py": 24,
    "tests/analysis/test_referee2_report.py": 21,
    "tests/faults/test_referee2_paths_interrupts.py": 21,
    "tests/study/test_referee8_search_rungs.py": 21,
    "tests/faults/test_referee2_inputs_data.py": 20,
    "tests/analysis/test_browser.py": 19,
    "tests/analysis/test_referee3_report_figures.py": 19,
    "tests/analysis/test_referee4_report_text.py": 19,
    "tests/analysis/test_report_gaps.py": 19,
    "tests/study/test_setup_packs.py": 19,
    "tests/faults/test_referee8_paths_report.py": 18,
    "tests/analysis/test_referee6_verdicts_importance.py": 17,
    "tests/faults/test_report_out.py": 17,
    "tests/faults/test_referee5_paths_room.py": 15,
    "tests/trainables/test_packed.py": 14,
    "tests/trainables/test_synth.py": 13,
    "tests/analysis/test_referee5_report_text.py": 12,
    "tests/faults/test_messages.py": 11,
    "tests/faults/test_referee2_paths.py": 11,
    "tests/faults/test_snapshots.py": 11,
    "tests/faults/test_referee2_inputs_tables.py": 10,
    "tests/faults/test_safe_load.py": 10,
    "tests/study/test_referee4_packed_gpus.py": 10,
    "tests/study/test_referee_search_design.py": 9,
    "tests/study/test_packed_plan.py": 8,
    "tests/faults/test_referee3_inputs_tables.py": 7,
    "tests/faults/test_referee9_paths_report.py": 7,
    "tests/study/test_shared_manners.py": 7,
    "tests/analysis/test_referee5_report_figures.py": 6,
    "tests/analysis/test_referee7_report_figures.py": 6,
    "tests/analysis/test_regimes.py": 6,
    "tests/faults/test_referee6_paths_limits.py": 6,
    "tests/study/test_cli_tools.py": 6,
    "tests/analysis/test_referee8_report_figures.py": 5,
    "tests/analysis/test_referee_regimes.py": 5,
    "tests/faults/test_referee3_paths.py": 5,
    "tests/faults/test_referee3_trigger_export.py": 5,
    "tests/faults/test_referee8_inputs_config.py": 5,
    "tests/study/test_referee3_toolbox_package.py": 5,
    "tests/study/test_referee8_search_startup.py": 5,
    "tests/analysis/test_referee3_report_text.py": 4,
    "tests/analysis/test_referee6_report_figures.py": 4,
    "tests/analysis/test_referee6_report_text.py": 4,
    "tests/faults/test_referee5_paths_stops.py": 4,
    "tests/analysis/test_referee4_verdicts.py": 3,
    "tests/analysis/test_referee8_report_text.py": 3,
}

#: The guess for a ``slow`` test in a file :data:`COST` does not list (a small study).
SLOW_TEST_COST = 15.0


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@functools.lru_cache(maxsize=None)
def group_of(file: str) -> str:
    """The work unit of a test file (a path relative to the repository, as in a node id): the
    shared study's group when the file names one of :data:`SHARED_STUDIES`, else the file."""
    try:
        text = (ROOT / file).read_text(errors="replace")
    except OSError:
        return file
    for fixture, group in SHARED_STUDIES.items():
        if re.search(rf"\b{fixture}\b", text):
            return group
    return file


def order(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place, group by group, the costliest group first (files and tests
    keep their collected order within a group); xdist hands out the groups in this order."""
    cost: dict[str, float] = {}
    for file in dict.fromkeys(_file(i.nodeid) for i in items):
        slow = sum(1 for i in items if _file(i.nodeid) == file and i.get_closest_marker("slow"))
        cost[group_of(file)] = cost.get(group_of(file), 0.0) + COST.get(file,
                                                                          SLOW_TEST_COST * slow)
    first_seen = {g: n for n, g in enumerate(dict.fromkeys(group_of(_file(i.nodeid))
                                                            for i in items))}
    items.sort(key=lambda i: (-cost[group_of(_file(i.nodeid))],
                              first_seen[group_of(_file(i.nodeid))]))


class GroupScheduling(LoadFileScheduling):
    """``--dist loadfile`` with :func:`group_of`'s units, handed out in collection order (which
    :func:`order` made costliest first) instead of xdist's most-tests-first."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        config.option.loadscopereorder = False  # keep order()'s order

    def _split_scope(self, nodeid: str) -> str:
        return group_of(_file(nodeid))
