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
* **Files using the shared Ray run one after another.** ``ray_cluster`` (``tests/conftest.py``)
  keeps its Ray for the worker's next module only when that module uses it too; handed out one
  file per unit, the 19 such files followed other files and a worker started Ray 4-5 times
  (14 starts over the 3 workers in a replay of the 2026-11-29 02:42 run, ~7 CPU-s each). They
  now go in :data:`RAY_GROUPS` groups balanced by :data:`COST` (one Ray start each), named
  ``shared-ray-<n>``; a file that defines its own ``ray_cluster`` is not one of them.
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
#: 02:42 (session 11), 3 workers on the 2 shared cores: each file's tests summed, 3590 s in all
#: against a wall of 1240 s; every file over 3 s). Files changed since are scaled by the CPU
#: ratio (whole process tree, Ray included) measured back to back on that file. Only the order
#: matters; refresh it when a file's cost changes a lot. A file not listed (new ones) costs
#: :data:`SLOW_TEST_COST` per ``slow``-marked test (an end-to-end study) and nothing otherwise.
#: That run's per-test times replayed through this hand-out (3 workers, each taking its next
#: unit while running its last test) end 1197-1199 s, the ideal being 3590 / 3 = 1197 s: the
#: order no longer costs anything; only less work makes the suite shorter.
COST: dict[str, float] = {
    "tests/study/test_resume.py": 179,
    "tests/analysis/test_planted_study.py": 159,
    "tests/study/test_referee_search_resume.py": 135,
    # a two-node cluster: a node removed mid-study, a driver killed then --resume (round 12)
    "tests/study/test_referee12_cluster_nodes.py": 150,
    "tests/study/test_scan.py": 125,
    "tests/bench/test_bench.py": 116,
    "tests/faults/test_interrupt.py": 115,
    "tests/bench/test_trial_memory.py": 113,
    "tests/study/test_referee10_search_ctrlc_draws.py": 56,  # 2 of 3 runs in-process: x0.54
    "tests/study/test_referee2_search_resume.py": 99,
    "tests/trainables/test_pack_server.py": 88,
    "tests/analysis/test_report.py": 87,
    "tests/faults/test_paths.py": 80,
    "tests/study/test_referee2_search_ctrlc.py": 47,  # its resume in-process: x0.63
    "tests/faults/test_referee3_paths_stops.py": 74,
    "tests/study/test_objectives.py": 67,
    "tests/study/test_multinode.py": 65,
    "tests/study/test_referee7_search_crash_resume.py": 64,
    "tests/study/test_referee11_driver_snapshots.py": 64,  # referee7's crash and resume, once
    "tests/study/test_faults.py": 62,
    "tests/study/test_referee8_toolbox_readers.py": 59,
    "tests/study/test_referee_search_budget.py": 58,
    "tests/faults/test_referee_paths_kill.py": 57,
    "tests/study/test_referee4_packed_resume.py": 57,
    "tests/faults/test_referee10_paths_readonly.py": 53,
    "tests/faults/test_referee11_paths_readonly.py": 50,  # a study whose folder turns read-only
    "tests/faults/test_referee11_followups_paths.py": 30,  # one tiny study taken over mid-run
    "tests/faults/test_referee12_paths_full_disk.py": 60,  # a tiny study resumed (+ finished_study)
    "tests/faults/test_referee12_paths_lock.py": 35,  # one tiny study, its lock lost at the end
    "tests/faults/test_lead12_named_pipes.py": 12,  # three reports/exports of pipes (+ finished_study)
    "tests/faults/test_referee11_paths_owners.py": 35,  # 2 refused runs (Ray imports), a report
    "tests/faults/test_referee2_paths_run.py": 53,
    "tests/study/test_packed_study.py": 52,
    "tests/faults/test_shadowing.py": 48,
    "tests/study/test_patience_study.py": 48,
    "tests/analysis/test_report_layout.py": 45,
    "tests/faults/test_resources.py": 45,
    "tests/study/test_referee_search_best.py": 45,
    "tests/study/test_referee4_packed_semantics.py": 44,
    "tests/study/test_referee_search_objectives.py": 43,
    "tests/study/test_setup.py": 40,
    "tests/analysis/test_referee8_report_no_figures.py": 39,
    "tests/faults/test_referee6_paths_hangup.py": 39,
    "tests/analysis/test_referee2_report_study.py": 38,
    "tests/faults/test_sigterm.py": 37,
    "tests/faults/test_report_out.py": 36,
    "tests/study/test_study_e2e.py": 36,
    "tests/faults/test_lock.py": 34,
    "tests/trainables/test_packed_trial_imports.py": 34,
    "tests/study/test_repro.py": 31,
    "tests/faults/test_referee_data.py": 30,
    "tests/study/test_export.py": 30,
    "tests/faults/test_referee2_paths_interrupts.py": 28,
    "tests/analysis/test_referee6_verdicts_importance.py": 27,
    "tests/faults/test_safe_load.py": 25,
    "tests/study/test_referee3_search_budget.py": 25,
    "tests/study/test_referee8_search_rungs.py": 19,
    "tests/analysis/test_report_gaps.py": 18,
    "tests/faults/test_referee2_paths.py": 18,
    "tests/study/test_setup_packs.py": 18,
    "tests/analysis/test_referee4_report_text.py": 17,
    "tests/faults/test_referee2_inputs_data.py": 17,
    "tests/study/test_referee10_run_report.py": 17,
    "tests/analysis/test_referee2_report.py": 16,
    "tests/faults/test_snapshots.py": 15,
    "tests/trainables/test_packed.py": 15,
    "tests/analysis/test_referee3_report_figures.py": 14,
    "tests/analysis/test_referee11_followups.py": 14,  # round 11, 2nd wave: 14.4 CPU-s alone
    "tests/faults/test_referee5_paths_room.py": 14,
    "tests/faults/test_referee7_paths_stops.py": 14,
    "tests/analysis/test_browser.py": 13,
    "tests/faults/test_referee8_paths_report.py": 13,
    "tests/analysis/test_referee5_report_text.py": 12,
    "tests/analysis/test_referee11_report_figures.py": 12,  # round 11, measured alone: 11.6 CPU-s
    "tests/faults/test_referee10_inputs.py": 11,
    "tests/study/test_cli_tools.py": 10,
    "tests/trainables/test_synth.py": 10,
    "tests/faults/test_messages.py": 9,
    "tests/study/test_referee11_followups_export.py": 6,  # round 11: one export, 5.8 CPU-s alone
    "tests/study/test_referee3_toolbox_package.py": 9,
    "tests/study/test_referee4_packed_gpus.py": 9,
    "tests/study/test_shared_manners.py": 9,
    "tests/faults/test_referee2_inputs_tables.py": 8,
    "tests/analysis/test_referee5_report_figures.py": 7,
    "tests/analysis/test_referee12_report_figures.py": 8,  # round 12: 8.0 CPU-s alone, no Ray
    "tests/faults/test_referee3_inputs_tables.py": 7,
    "tests/faults/test_referee9_paths_report.py": 7,
    "tests/analysis/test_referee_regimes.py": 6,
    "tests/faults/test_referee6_paths_limits.py": 6,
    "tests/study/test_packed_plan.py": 6,
    "tests/study/test_referee_search_design.py": 6,
    "tests/trainables/test_loop.py": 6,
    "tests/analysis/test_referee7_report_figures.py": 5,
    "tests/analysis/test_regimes.py": 5,
    "tests/faults/test_referee3_paths.py": 5,
    "tests/faults/test_referee3_trigger_export.py": 5,
    "tests/faults/test_referee8_inputs_config.py": 5,
    "tests/analysis/test_plots.py": 4,
    "tests/analysis/test_referee10_verdicts.py": 4,
    "tests/analysis/test_referee3_report_text.py": 4,
    "tests/analysis/test_referee6_report_figures.py": 4,
    "tests/analysis/test_referee6_report_text.py": 4,
    "tests/analysis/test_referee8_report_figures.py": 4,
    "tests/faults/test_referee2_inputs_config.py": 4,
    "tests/faults/test_referee5_paths_stops.py": 4,
    "tests/study/test_referee8_search_startup.py": 4,
    "tests/analysis/test_referee8_report_text.py": 3,
    "tests/analysis/test_referee9_report_figures.py": 3,
    "tests/study/test_referee3_search_space.py": 3,
}

#: How many groups the files using the shared ``ray_cluster`` fixture make (see the module's
#: doc): 2 keeps each group under half a worker's share of the suite.
RAY_GROUPS = 2

#: The guess for a ``slow`` test in a file :data:`COST` does not list (a small study).
SLOW_TEST_COST = 15.0


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _uses_shared_ray(text: str) -> bool:
    """Whether a test file's text asks for the shared ``ray_cluster`` (not one of its own)."""
    return (re.search(r"\bray_cluster\b", text) is not None
            and re.search(r"\bdef ray_cluster\b", text) is None)


@functools.lru_cache(maxsize=None)
def _ray_groups() -> dict[str, str]:
    """Each test file using the shared ``ray_cluster`` -> its ``shared-ray-<n>`` group: the
    costliest first into the group with the least :data:`COST` so far (the same answer in
    every process: files in sorted order, ties to the lower group)."""
    files = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if _uses_shared_ray(path.read_text(errors="replace")):
            files.append(path.relative_to(ROOT).as_posix())
    load = [0.0] * RAY_GROUPS
    groups = {}
    for file in sorted(files, key=lambda f: -COST.get(f, SLOW_TEST_COST)):
        n = load.index(min(load))
        load[n] += COST.get(file, SLOW_TEST_COST)
        groups[file] = f"shared-ray-{n + 1}"
    return groups


@functools.lru_cache(maxsize=None)
def group_of(file: str) -> str:
    """The work unit of a test file (a path relative to the repository, as in a node id): the
    shared study's group when the file names one of :data:`SHARED_STUDIES`, the shared Ray's
    group when it uses ``ray_cluster``, else the file."""
    try:
        text = (ROOT / file).read_text(errors="replace")
    except OSError:
        return file
    for fixture, group in SHARED_STUDIES.items():
        if re.search(rf"\b{fixture}\b", text):
            return group
    return _ray_groups().get(file, file)


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
