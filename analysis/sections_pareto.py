"""The report's Pareto part: accuracy and AUC against size (parameters, FLOPs or, for a
size-aware search, multiplications), the smallest model within noise of the best, and the
best model's test point. A part of :data:`jetstudy.analysis.sections.PARTS`, kept here so that
module stays a readable size; like every part, it returns a Section or raises
:class:`AnalysisError` with the sentence the report shows under "Skipped parts".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from jetstudy.analysis import maps, pareto
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.intervals import format_error, round_error, shared_decimals
from jetstudy.analysis.render import Section, counted, format_cell
from jetstudy.analysis.sections_heldout import tested_model
from jetstudy.analysis.sections_words import complete_words
from jetstudy.analysis.size_answer import (_digits, _errors, no_answer_reason,
                                          scores_with_errors)
from jetstudy.analysis.summary import best_epoch_loss_se
from jetstudy.analysis.trial_order import listed_ids
from jetstudy.trainables.schema import CLASSES

if TYPE_CHECKING:
    from jetstudy.analysis.sections import ReportState

__all__ = ["pareto_part", "val_counts", "pareto_table", "PARETO_COLUMNS", "score_decimals"]


def val_counts(r: ReportState) -> tuple[int | None, list[int] | None]:
    """Validation jets and their class counts from data_summary.json (None when unknown)."""
    ds = r.t.data_summary if isinstance(r.t.data_summary, dict) else {}

    def val(key: str) -> object:
        part = ds.get(key)
        return part.get("val") if isinstance(part, dict) else None

    n_val, counts = val("n_jets"), val("class_counts")
    n_val = n_val if isinstance(n_val, int) and n_val > 0 else None
    # a class the summary leaves out has no validation jets: 0 in its place, never a shorter
    # list (four numbers are no class counts to few_validation_jets: its few-jet class was lost)
    known = isinstance(counts, dict) and any(c in counts for c in CLASSES)
    counts = [int(counts.get(c, 0)) for c in CLASSES] if known else None
    return n_val, counts


def _search_best(r: ReportState) -> tuple[str, str] | None:
    """The Best-trial section's (search metric, trial id), for the notes to say where a
    panel's best (by its own score, fully trained) is another trial; None when none is."""
    try:
        return r.metric, str(r.best_row()["trial_id"])
    except AnalysisError:
        return None


def score_decimals(r: ReportState) -> int | None:
    """Decimals of the search metric as the Best-trial table prints the best trial's score
    (from its error by intervals.round_error: 0.9356 ± 0.0017 gives 4, ± 0.02 gives 2; without
    one, intervals.shared_decimals), for the regime maps' cells to print their best scores
    alike (they had 3 decimals whatever the table said); None when no best trial is known."""
    column = maps.score_column(r.t.trials, r.metric)
    try:
        best = r.best_row()
    except AnalysisError:
        return None
    value = float(pd.to_numeric(best.get(column), errors="coerce")) if column else np.nan
    if not np.isfinite(value):
        return None
    error = _errors([best], column, *val_counts(r))[0]  # as scores_with_errors takes it
    if np.isfinite(error) and error > 0:
        return max(0, round_error(error)[1])
    return shared_decimals(value)


#: pareto.csv's columns (docs/results_layout.md): one row per trial drawn per panel.
#: ``best_completed`` is the former name of ``best_fully_trained`` (same values; a full run
#: whose status reads ``stopped`` may be it), kept in its place for the readers of old files.
PARETO_COLUMNS: tuple[str, ...] = (
    "panel", "score", "cost", "trial_id", "status", "cost_value", "score_value", "score_se", "on_front",
    "smallest_within_tolerance", "best_completed", "tied_with", "best_fully_trained")


def pareto_table(results: list[pareto.ParetoResult],
                 own: pd.DataFrame | None = None, own_names: tuple[str, str] = ("", "")
                 ) -> pd.DataFrame:
    """The Pareto part's data as one table (``report/pareto.csv``): every trial drawn in each
    (score, cost) panel, completed ones with their error and front membership, stopped or
    running ones (drawn faded) never on the front; ``own`` (a size-aware search's front,
    :func:`jetstudy.analysis.pareto.search_front`) adds its rows under ``own_names`` (score,
    cost) in the panel ``search objectives`` (the others' is ``scores``): a referee counts a
    panel's front as its ``on_front`` rows."""
    parts = []
    for res in results:
        front = set(res.front["trial_id"].astype(str))
        pick = None if res.pick is None else str(res.pick["trial_id"])
        best = None if res.best is None else str(res.best["trial_id"])
        for rows, status in ((res.points, "completed"), (res.partial, None)):
            if rows.empty:
                continue
            ids = rows["trial_id"].astype(str)
            parts.append(pd.DataFrame({
                "panel": "scores", "score": res.score, "cost": res.cost, "trial_id": ids,
                "status": rows["status"].astype(str),  # a full run may be 'stopped' too
                "cost_value": rows["cost"].astype(float), "score_value": rows["score"].astype(float),
                "score_se": rows["se"].astype(float),
                "on_front": ids.isin(front) if status else False,
                "smallest_within_tolerance": ids.eq(pick) if status else False,
                "best_completed": ids.eq(best) if status else False,
                # exact ties among the candidates (one of them on the front: the first proposed)
                "tied_with": pareto.tied_with(rows) if status else ""}))
    if own is not None and len(own):
        parts.append(pd.DataFrame({
            "panel": "search objectives", "score": own_names[0], "cost": own_names[1], "trial_id": own["trial_id"].astype(str),
            "status": own["status"].astype(str), "cost_value": own["cost"].astype(float),
            "score_value": own["score"].astype(float), "score_se": float("nan"),
            "on_front": own["on_front"].astype(bool), "smallest_within_tolerance": False,
            "best_completed": False, "tied_with": _own_ties(own)}))
    if not parts:
        return pd.DataFrame(columns=list(PARETO_COLUMNS))
    table = pd.concat(parts, ignore_index=True)
    table = table.assign(best_fully_trained=table["best_completed"])[list(PARETO_COLUMNS)]
    cost = table["cost_value"]
    if cost.notna().all() and (cost == cost.round()).all():  # counts as counts: 9096, not 9096.0
        table["cost_value"] = cost.round().astype("int64")
    return table.sort_values(["panel", "score", "cost", "cost_value", "trial_id"], kind="mergesort",
                             ignore_index=True)


def _own_ties(own: pd.DataFrame) -> list[str]:
    """``tied_with`` of the search's own panel: ties among its completed trials (the only ones
    on its front); none for a stopped or running one."""
    done = own["complete"].astype(bool).to_numpy()  # ran to the end (pareto.search_front)
    ties = pareto.tied_with(own[done])
    it = iter(ties)
    return [next(it) if d else "" for d in done]


def pareto_part(r: ReportState) -> Section:
    from jetstudy.analysis import plots_pareto

    n_val, counts = val_counts(r)
    results, left_out = [], []
    trials = pareto.with_sizes(r.t.trials)  # a loss's error: its best epoch's
    trials = trials.assign(best_val_loss_se=best_epoch_loss_se(trials, r.t.epochs))
    size_cost, limits = _size_search(r)
    costs = ("n_params", "multiplications" if size_cost == "multiplications" else "flops")
    for metric in ("val_acc", "val_auc"):
        for cost in costs:
            try:
                results.append(pareto.compute_pareto(trials, cost, metric, n_val=n_val,
                                                     class_counts=counts))
            except AnalysisError as exc:
                left_out.append(f"{metric} vs {cost}: {exc}")
    if not results:
        raise AnalysisError(_none_scored(r.t.trials, left_out))
    answer_cost = size_cost or next(iter(limits), "n_params")
    answer = pareto.how_big(trials, r.metric, r.maximize, answer_cost)
    why = "" if answer else no_answer_reason(pareto.with_sizes(trials), answer_cost)
    bad = r.regimes[r.regimes["regime"] == "unstable"]  # no model to deploy (size_answer)
    lines = [pareto.how_big_paragraph(answer, limits, n_val, counts, why_none=why,
                                      unstable=dict(zip(bad["trial_id"], bad["reason"])))]
    tables, panel = [], None
    if size_cost:
        own = pareto.search_front(trials, r.metric, r.maximize, size_cost)
        pick = None if answer is None else str(answer.pick["trial_id"])
        panel = (own, f"best_{r.metric}", size_cost, pick)
        done = int(own["complete"].sum())
        lines.append(_own_front_line(own, r.metric, size_cost, done))
        tables.append(("the search's own front, marked against every trial tried",
                       _own_table(trials, own, r.metric, size_cost, n_val, counts)))
    test_points = _test_points(r, results)
    tested = tested_model(r)  # 'the best model', or the trial tested where the best moved on
    name = r.figure("pareto.png", plots_pareto.pareto_figure(results, test_points, panel,
                                                             test_label=tested[1]))
    own_table = (panel[0], panel[1:3]) if panel else (None, ("", ""))
    r.data_file("pareto.csv", pareto_table(results, *own_table))
    lines.append("Every point drawn, its error and whether it is on the front: pareto.csv "
                 "(one row per trial and panel).")
    # drawn in some panel (a trial without a val_auc is still in the accuracy's)
    drawn = len(set().union(*(set(res.points["trial_id"]) | set(res.partial["trial_id"])
                              for res in results)))
    n_rest = len(trials) - drawn
    rest = (f" The other {counted(n_rest, 'trial')} (failed, interrupted, or without a score "
            f"or size) {'is' if n_rest == 1 else 'are'} not drawn." if n_rest > 0 else "")
    n_partial = len(results[0].partial)
    faded = (f"; {counted(n_partial, 'stopped or running trial')} "
             f"{'is' if n_partial == 1 else 'are'} drawn faded and never on the front (scores "
             "of models still learning)" if n_partial else "")
    full = (" or all of max_epochs, whatever their status" if
            (results[0].points["status"].astype(str) != "completed").any() else "")
    lines += [f"Only trials trained to the end (status completed: "
              f"{complete_words(r.t.config)}{full}) are candidates: {_candidates_words(results)}{faded}.{rest}"]
    if n_val:
        lines.append(f"Errors: binomial standard error of the accuracy on the {n_val} validation "
                     "jets; Hanley-McNeil estimate for the macro AUC (approximate). A pick is "
                     f"'within noise' when its distance from the best is below "
                     f"{pareto.NOISE_SIGMAS:g} standard errors of the difference (both errors "
                     "added in quadrature, conservative for models scored on the same jets).")
    else:
        why = ("data_summary.json does not record it" if r.t.data_summary is not None
               else "no data_summary.json")
        lines.append(f"The number of validation jets is unknown ({why}): scores are shown "
                     "without their noise.")
    for res in results:
        if res.cost == "n_params":  # the FLOPs panels pick the same kind of model
            lines += pareto.pick_notes(res, complete_words(r.t.config), _search_best(r))
    lines += [_front_line(res) for res in results if len(res.front)]
    rows = []
    for res in results:
        if not res.determined:
            rows.append((res.score, res.cost, "undetermined", "-", "-", "-", "-", "-", 0))
            continue
        pick = res.pick
        noise = {True: "within noise", False: "significant", None: "noise unknown"}
        verdict = noise[res.within_noise] if res.gap > 0 else _is_best(res)
        if res.few_jets:  # the macro AUC rests on a handful of jets of a class (notes)
            verdict += f"; rests on {' and '.join(res.few_jets)}"
        rows.append((res.score, res.cost, pick["trial_id"], pick["cost"],
                     *_scores_and_gap(res), verdict, len(res.front)))
    columns = ["score", "cost", "smallest within 1%", "its cost", "its score", "best fully trained",
               "best - pick", "significance", "front size"]
    # the caption names only what the panels draw (no error bars without n_val, no front or
    # star without a completed trial, no diamond without a test evaluation)
    determined = any(res.determined for res in results)
    # a front of one point is the pick, under its star, and a lone fully trained trial too:
    # neither drawn apart (plots_pareto), so not named apart
    lines_drawn = any(len(res.front) > 1 or (len(res.front) and res.pick is None)
                      for res in results)
    alone = all(res.pick is not None and len(res.points) == 1 for res in results
                if len(res.points))
    points = ("error bar = the trial's 1 se" if n_val else "") if alone else (
        "points = fully trained trials" + (" with 1 se error bars" if n_val else ""))
    drawn = [points if any(len(res.points) for res in results) else "",
             ("hollow = stopped/running (not on the front)"
              if any(len(res.partial) for res in results) else ""),
             "line = Pareto front" if lines_drawn else "",
             "green dotted = the edge of the 1% band below the best" if determined else "",
             ("star = smallest model within 1% of the best"
              + ("" if lines_drawn else " (the whole front)") if determined else ""),
             f"diamond = {tested[2]}" if test_points else ""]
    own_line = "its front as a line, "
    star = "the answer to 'how big' as a star."
    if panel is not None and panel[3] is None:  # no answer: the panel draws no star
        star = "no star: no answer to 'how big' (see the text)."
    if panel is not None:
        own_front = panel[0][panel[0]["complete"].astype(bool) & panel[0]["on_front"]]
        if len(own_front) <= 1 and set(own_front["trial_id"]) <= {panel[3]}:
            own_line = "its front the star alone, " if len(own_front) else "no front, "
    caption = (f"Validation accuracy / AUC (best epoch) against parameters and {costs[1]}: "
               + ", ".join(d for d in drawn if d) + "."
               + (f" Last row: the search's own objectives ({r.metric} against {size_cost}), "
                  f"{own_line}{star}" if size_cost
                  else ""))
    if left_out:
        lines.append(f"Not shown: {'; '.join(left_out)}.")
    return Section("Pareto front", figure=name, caption=caption,
                   tables=[("", pd.DataFrame(rows, columns=columns)), *tables], lines=lines)


def _candidates_words(results: list[pareto.ParetoResult]) -> str:
    """How many candidates the panels hold: "6 here" when every panel holds as many, else per
    score ("6 in the val_acc panels, 4 in the val_auc panels": a trial without a val_auc is a
    candidate of the accuracy's only), or per panel where a score's panels differ."""
    counts = {(res.score, res.cost): len(res.points) for res in results}
    if len(set(counts.values())) == 1:
        return f"{next(iter(counts.values()))} here"
    scores = list(dict.fromkeys(s for s, _ in counts))
    by_score = {s: {n for (t, _), n in counts.items() if t == s} for s in scores}
    if all(len(ns) == 1 for ns in by_score.values()):
        return ", ".join(f"{next(iter(by_score[s]))} in the {s.removeprefix('best_')} panel"
                         f"{'s' if sum(t == s for t, _ in counts) > 1 else ''}" for s in scores)
    return ", ".join(f"{n} in {s.removeprefix('best_')} vs {c}" for (s, c), n in counts.items())


def _scores_and_gap(res: pareto.ParetoResult) -> tuple[str, str, str]:
    """The pick's score, the best's and best - pick, as the table prints them: with their
    errors when known; else all three to the same decimals (4 figures of the larger score:
    0.8170, 0.8243, 0.0073; was 0.817 beside 0.8243 and a gap of 0.007293)."""
    pick, best = float(res.pick["score"]), float(res.best["score"])
    # both scores' errors known (a gap error of 0, the pick being the best, says nothing of
    # them: its scores were printed to 4 figures less their zeros, 0.729 beside the Best-trial
    # table's 0.7290)
    if all(np.isfinite(float(x["se"])) and float(x["se"]) > 0 for x in (res.pick, res.best)):
        return (format_error(pick, res.pick["se"]), format_error(best, res.best["se"]),
                format_error(res.gap, res.gap_se) if res.gap > 0 else "0")
    pick_t, best_t, gap_t = _digits(pick, best, float(res.gap))
    return pick_t, best_t, gap_t if res.gap > 0 else "0"


def _own_front_line(own: pd.DataFrame, metric: str, size: str, done: int) -> str:
    """What the search's own front holds, naming only the groups of trials that exist."""
    on = int(own["on_front"].sum())
    rest = len(own) - done
    words = [f"The search's own front: it minimised {size} beside {metric} (Optuna "
             f"multi-objective TPE). On the front: {on} of {counted(done, 'fully trained trial')} "
             "(table)"]
    if done > on:
        words.append(f"the other {done - on} {'is' if done - on == 1 else 'are'} dominated in "
                     "these two objectives")
    if rest:
        words.append(f"the {counted(rest, 'stopped or running trial')} (listed, scores of "
                     f"models still learning) {'is' if rest == 1 else 'are'} never on it")
    return "; ".join(words) + "."


def _own_table(trials: pd.DataFrame, own: pd.DataFrame, metric: str, size: str,
               n_val: int | None, counts: list[int] | None) -> pd.DataFrame:
    """The search's front as the report prints it: each score with its error (digits from the
    error, as everywhere else in the part), or all to equal digits when an error is unknown."""
    column = maps.score_column(trials, metric)
    last = trials.drop_duplicates("trial_id", keep="last")
    by_id = last.set_index(last["trial_id"].astype(str))
    rows = [by_id.loc[t] for t in own["trial_id"].astype(str)]
    shown = scores_with_errors(rows, column, n_val, counts) if rows and column else own["score"]
    return own.assign(score=list(shown)).rename(columns={"cost": size, "score": metric})


def _none_scored(trials: pd.DataFrame, left_out: list[str]) -> str:
    """Why no panel could be drawn: once, with the trials' statuses, when no trial has a
    score at all (an all-failed or interrupted study), else each panel's reason."""
    scored = trials[trials["status"].isin(pareto.SCORED_STATUSES)] if "status" in trials else trials
    if len(scored) == 0 and len(trials):
        statuses = ", ".join(f"{n} {s}" for s, n in trials["status"].value_counts().items())
        return (f"no finished trial has a score to place: of the {counted(len(trials), 'trial')}, none "
                f"is completed, stopped or running ({statuses})")
    return "; ".join(dict.fromkeys(left_out))


def _is_best(res: pareto.ParetoResult) -> str:
    """The significance cell of a pick that is the best itself: a cheaper model within noise
    of it (pareto.ParetoResult.cheapest_within_noise) means its size is not shown needed."""
    cheaper = res.cheapest_within_noise
    if cheaper is None:
        return "is the best"
    return (f"is the best; trial {cheaper['trial_id']} at {format_cell(cheaper['cost'])} is within noise "
            "of it")


#: Trial ids named per front line; a longer front is cut with a count of the rest.
FRONT_IDS = 12


def _front_line(res: pareto.ParetoResult) -> str:
    """The front's trials by increasing cost, so the table's 'front size' and the figure's
    line can be checked against trials.parquet."""
    front = res.front.sort_values("cost", kind="mergesort")
    ids = [str(t) for t in front["trial_id"]]
    return (f"Front of {res.score} vs {res.cost} ({counted(len(ids), 'trial')}, smallest first): "
            f"{listed_ids(ids, FRONT_IDS)}.")


def _size_search(r: ReportState) -> tuple[str | None, dict[str, int]]:
    """The search's size objective (``search.objectives[1]``) and its ``max_*`` limits, from
    config.yaml (none without a config)."""
    search = (r.t.config or {}).get("search")
    search = search if isinstance(search, dict) else {}
    objectives = search.get("objectives") or []
    size = objectives[1] if isinstance(objectives, list) and len(objectives) > 1 else None
    fields = {"n_params": "max_params", "flops": "max_flops",
              "multiplications": "max_multiplications"}
    limits = {q: int(search[f]) for q, f in fields.items() if search.get(f) is not None}
    return size, limits


def _test_points(
    r: ReportState, results: list[pareto.ParetoResult]
) -> dict[tuple[str, str], tuple[float, float]]:
    """(cost, score) of the best model on the test split, per Pareto panel."""
    tm = r.t.test_metrics or {}
    model = tm.get("model") if isinstance(tm.get("model"), dict) else {}
    trials = pareto.with_sizes(r.t.trials)
    row = trials[trials["trial_id"] == str(tm.get("trial_id"))]
    if row.empty:
        return {}
    test = {"val_acc": model.get("accuracy"), "val_auc": model.get("auc_macro")}
    out = {}
    for res in results:
        value = test.get(res.score.removeprefix("best_"))
        if isinstance(value, (int, float)):
            out[(res.cost, res.score)] = (float(row.iloc[0][res.cost]), float(value))
    return out
