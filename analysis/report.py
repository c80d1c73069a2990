"""Assemble the study report from the result tables alone: no Ray, no GPU, no torch.

Each part is computed by the pure modules of this package and drawn by :mod:`jetstudy.analysis.plots`;
this module only decides which parts the inputs allow, lays them out and writes the files.
A part that cannot be made (an input absent, a column missing, too few trials) is listed under
"Skipped parts" with the reason instead of stopping the report, so a lone ``trials.parquet`` or a
snapshot of a running study still gives everything it can.

>>> outcome = write_report("results/demo")             # doctest: +SKIP
>>> outcome.index_html, [p for p, _ in outcome.skipped]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from jetstudy.analysis import regimes
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.render import Section, render_html, render_markdown
from jetstudy.analysis.report_folder import (FolderPlan, digests, plan_report_folder,
                                             report_folder_made, report_staging, write_manifest)
from jetstudy.analysis.sections import PARTS, ReportState
from jetstudy.analysis.sections_search import kind_lines
from jetstudy.analysis.study_state import study_folder, study_state
from jetstudy.analysis.tables import StudyTables, load_tables
from jetstudy.trainables.atomic import NO_ROOM_FIX, held_signals, no_room

__all__ = ["ReportOutcome", "write_report", "FIGURE_FILES", "PAGE_FILES", "DATA_FILES"]

logger = logging.getLogger(__name__)

#: Every figure a report may write; stale ones from an earlier report in the folder are removed.
FIGURE_FILES: tuple[str, ...] = (
    "regimes_depth_width.png", "regimes_regularisation.png", "complexity.png",
    "learning_curves.png", "pareto.png", "roc.png", "importance.png", "history.png",
    "parallel_coordinates.png",
)
#: The report's other files.
PAGE_FILES: tuple[str, ...] = ("regimes.csv", "summary.md", "index.html")
#: Data files a part writes when it is made (the Pareto part's points and fronts); a stale one
#: is removed like a stale figure.
DATA_FILES: tuple[str, ...] = ("pareto.csv",)


#: A scan (``search.sampler`` grid or sobol) exists for the regime picture, so its report leads
#: with it, in this order; a search's report keeps :data:`PARTS`' order (the best model first).
SCAN_LEADS: tuple[str, ...] = (
    "regime map (depth x width)", "complexity curve", "regime map (size x regularisation)",
    "learning curves", "regime rules")


def part_order(config: dict | None) -> tuple:
    """The report's parts in page order for a study with this ``config.yaml`` (None: unknown)."""
    search = (config or {}).get("search")
    sampler = search.get("sampler") if isinstance(search, dict) else None
    if sampler not in ("grid", "sobol"):
        return PARTS
    lead = [part for name in SCAN_LEADS for part in PARTS if part[0] == name]
    return (*lead, *(part for part in PARTS if part[0] not in SCAN_LEADS))


@dataclass(frozen=True)
class ReportOutcome:
    """What was written: the page, the Markdown summary, the PNGs, the parts left out and why."""

    out_dir: Path
    index_html: Path
    summary_md: Path
    figures: list[Path]
    skipped: list[tuple[str, str]]


class _WordsOnly(ReportState):
    """The report's state that keeps no figure's PNG: the parts still build their figures (they
    hand over a finished one), but none is rendered to pixels, the costlier half (~0.4 CPU-s a
    figure); the section keeps the figure's name and caption, and the page says it was not
    drawn."""

    def figure(self, name: str, fig: object) -> str:
        return name


def build_report(
    tables: StudyTables, thresholds: regimes.RegimeThresholds | None = None,
    figures: bool = True,
) -> ReportState:
    """Try every part in page order; the state holds sections, figure bytes and skipped parts.
    ``thresholds`` default to the study's ``regimes:`` config section (:class:`ReportState`);
    ``figures=False`` keeps no PNG (:class:`_WordsOnly`)."""
    state = (ReportState if figures else _WordsOnly)(tables, thresholds)
    for name, part in part_order(tables.config):
        state.attempt(name, lambda part=part: part(state))
    return state


def _unwritable(out: Path, exc: OSError) -> AnalysisError:
    code = no_room(exc)
    if code is not None:  # the disk, a quota or a file-size limit: nothing about the folder
        return AnalysisError(f"cannot write the report to {out}: {os.strerror(code)}; "
                             f"{NO_ROOM_FIX[code]}")
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        from jetstudy.study.os_errors import os_problem

        # the report's own file (not the staging one a rename names first), with the fix
        return AnalysisError(f"cannot write the report to {out}: {os_problem(exc)}, or "
                             f"choose another folder with -o")
    return AnalysisError(f"cannot write the report to {out}: {exc}; choose another folder with -o")


def _write(plan: FolderPlan, title: str, r: ReportState, redraw: str | None) -> ReportOutcome:
    """Write into a temp folder inside ``out``, then move file by file (figures first, the page
    last): every file is whole at any moment, and a page never points at a missing figure.
    Only the report's own files are replaced; an earlier report's figures that this one lacks
    are removed, nothing else. ``redraw``: the command that draws the figures of a report
    written without them (None: they are drawn)."""
    out = plan.out
    inputs = ", ".join(p.name for p in r.t.inputs)
    partial = (["Partial report: the study is still running, so every number below may "
                "change (see 'Outcomes')."]
               if study_state(r.t.trials, r.t.config, r.live, study_folder(r.t)).word == "running" else [])
    undrawn = ([f"Figures: not drawn (the report was written with --no-figures); to draw "
                f"them: {redraw}"] if redraw is not None else [])
    sections = [Section("Overview", lines=[*partial, f"Source: {r.t.source}",
                                           f"Inputs read: {inputs}", *kind_lines(r.t),
                                           *undrawn])]
    if r.skipped:
        why = [f"{part}: {reason}" for part, reason in r.skipped]
        sections.append(Section("Skipped parts", lines=why, as_list=True))
    sections += r.sections
    page = render_html(title, sections, r.figures)  # a figure not drawn: the page says so
    try:
        with report_staging(plan) as (tmp, plan):  # marked; the plan made again, held
            for name, data in {**r.figures, **r.files}.items():
                (tmp / name).write_bytes(data)
            r.regimes.to_csv(tmp / "regimes.csv", index=False)
            (tmp / "summary.md").write_text(render_markdown(title, sections, set(r.figures)),
                                            encoding="utf-8")
            (tmp / "index.html").write_text(page, encoding="utf-8")
            names = [*r.figures, *r.files, *PAGE_FILES]
            new, old = digests(tmp, names), digests(out, sorted(plan.ours))
            with held_signals():  # a stop never leaves this report half moved in
                write_manifest(out, {n: sorted({d for d in (old.get(n), new.get(n)) if d})
                                     for n in {*new, *old}}, tmp)  # a kill midway: all in
                for name in names:
                    os.replace(tmp / name, out / name)
                for stale in sorted(plan.ours - set(names)):
                    (out / stale).unlink(missing_ok=True)
                write_manifest(out, {n: [d] for n, d in new.items()}, tmp)
    except OSError as exc:
        raise _unwritable(out, exc) from exc
    return ReportOutcome(out_dir=out, index_html=out / "index.html", summary_md=out / "summary.md",
                         figures=[out / n for n in r.figures], skipped=list(r.skipped))


def _redraw_command(source: str | Path, out_dir: str | Path | None, force: bool) -> str:
    """The ``jetstudy report`` command line that rewrites this report with its figures."""
    import shlex

    cmd = ["jetstudy", "report", str(source)]
    if out_dir is not None:
        cmd += ["-o", str(out_dir)]
    return shlex.join(cmd + (["--force"] if force else []))


def write_report(
    source: str | Path,
    out_dir: str | Path | None = None,
    thresholds: regimes.RegimeThresholds | None = None,
    force: bool = False,
    figures: bool = True,
) -> ReportOutcome:
    """Write ``index.html`` (self-contained), ``summary.md``, the PNGs and ``regimes.csv``.

    ``source`` is a results folder or a trials table (``.parquet``/``.csv``); ``out_dir``
    defaults to ``report/`` beside the trials table. The folder must be empty, new, or hold
    only an earlier report (:mod:`jetstudy.analysis.report_folder`); ``force`` (implied for a study's
    own ``report/``) writes beside other files, never over them. ``figures=False`` (``jetstudy
    report --no-figures``) writes the same words, tables, ``regimes.csv`` and ``pareto.csv``
    without the PNGs, in a fraction of the time: the page and ``summary.md`` say where each
    figure was left out and which command draws them (an earlier report's PNGs in the folder
    are removed, as they would not match). Raises
    :class:`AnalysisError` only when no usable trials table is
    found or the output cannot be written; anything else is a skipped part.
    """
    if out_dir is not None and not str(out_dir).strip():  # Path("") would be the current folder
        raise AnalysisError(f"-o {str(out_dir)!r} is empty; give a folder for the report, or "
                            f"leave -o out for report/ in the results folder")
    from jetstudy.trainables.datacheck import url_problem

    url = url_problem(out_dir) if isinstance(out_dir, str) and not os.path.lexists(
        out_dir) else None
    if url is not None:  # Path() would fold 's3://b/x' into a local folder 's3:'
        raise AnalysisError(f"-o {out_dir!r} is {url}"
                            f"{'' if url.startswith('a URL (file://)') else ': give a folder path instead'}")
    tables = load_tables(source)
    default = tables.folder / "report"
    out = Path(out_dir).expanduser() if out_dir is not None else default
    from jetstudy.study.paths import holds_study  # a config.yaml alone is the user's

    legacy = (frozenset({*FIGURE_FILES, *DATA_FILES, *PAGE_FILES})
              if out.absolute() == default.absolute() and holds_study(tables.folder)
              else frozenset())
    force = force or bool(legacy)  # a study's own report folder: keep a user's file beside
    will_write = {*FIGURE_FILES, *DATA_FILES, *PAGE_FILES}
    plan_report_folder(out, will_write, force, legacy)  # refuse before any work is done
    from jetstudy.study.paths import inside_study_part

    if out_dir is not None and (held := inside_study_part(out)) is not None:
        raise AnalysisError(
            f"cannot write the report to {out}: it is inside the study folder {held[0]}'s own "
            f"{held[1]}/, which jetstudy rewrites or clears (best/ is replaced whole on the next "
            f"evaluation); give a folder outside it, or leave -o out for report/ in the results "
            f"folder")
    with report_folder_made(out):  # a failed or stopped report leaves no folder it made
        r = build_report(tables, thresholds, figures)
        plan = plan_report_folder(out, {*r.figures, *r.files, *PAGE_FILES}, force, legacy)
        redraw = None if figures else _redraw_command(source, out_dir, force and not legacy)
        outcome = _write(plan, f"jetstudy report: {tables.name}", r, redraw)
    logger.info("report written to %s (%d figures, %d parts skipped)", outcome.index_html,
                len(outcome.figures), len(outcome.skipped))
    return outcome
