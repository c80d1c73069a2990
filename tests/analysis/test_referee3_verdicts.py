"""Refereeing the verdicts, round 3: runs whose whole budget is one or two epochs, thresholds at
their edges, metrics that are maximised, and the numbers' digits."""

from __future__ import annotations

import math

from tests.analysis.test_regimes import _judge, _trial

LN5 = math.log(5)


# --- a complete run shorter than min_epochs is judged as trained ------------------------------

def test_a_complete_two_epoch_run_gets_every_verdict_its_final_losses_show():
    """max_epochs 2: good near L*, underfit far above it, overfit by a gap, unstable at the
    priors; a trial stopped after 2 of 10 epochs stays undetermined (a slow start may look the
    same). Every judged short run says its whole run was that short."""
    r = _judge(_trial("good", [0.8, 0.62], [0.8, 0.63], max_epochs=2),
               _trial("under", [1.1, 0.95], [1.1, 0.96], max_epochs=2),
               _trial("over", [0.7, 0.5], [0.8, 0.75], max_epochs=2),
               _trial("flat", [LN5, LN5], [LN5, LN5], max_epochs=2, auc=0.5),
               _trial("cut", [LN5, LN5], [LN5, LN5], status="stopped", auc=0.5),
               _trial("cut2", [1.1, 0.95], [1.1, 0.96], status="stopped"))
    assert r["regime"].to_dict() == {"good": "good", "under": "underfit", "over": "overfit",
                                     "flat": "unstable", "cut": "undetermined",
                                     "cut2": "undetermined"}
    for tid in ("good", "under", "over"):
        assert "its whole run is 2 epochs, fewer than regimes.min_epochs 3" in r.loc[tid, "reason"]
        assert bool(r.loc[tid, "complete"]) and not bool(r.loc[tid, "judged_on_partial"])
    assert "not only more capacity" in r.loc["under", "reason"]
    # the final loss of a 2-epoch run is epoch 2's, not the mean of epochs 1 and 2 (0.71)
    assert "train loss 0.62 " in r.loc["good", "reason"]
    assert r.loc["good", "min_val_loss"] == 0.63
    assert "whole run" not in r.loc["cut2", "reason"]
