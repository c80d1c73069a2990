"""Published results on the real hls4ml LHC jet data, each with its source, to put a real-data
study in context.

They apply to the real dataset only: a synthetic study is compared with its Bayes-optimal
classifier instead. The numbers are copied from ``shared/hls4ml_schema.md`` (facts collected from
the public papers and tutorials that use this dataset); a number that file does not give is
``None`` here and printed "not quoted", never guessed. None of the sources' uncertainties are
recorded there, so the report says "uncertainty not quoted" beside them.

- The 16-feature DNN: the fully connected baseline on the 16 high-level features in the JEDI-net
  paper, E. A. Moreno et al., Eur. Phys. J. C 80 (2020) 58, arXiv:1908.05318. (The code used to
  call it "the JEDI-net paper": the same article; the journal citation is the one to give.)
- The hls4ml 64-32-32 ReLU MLP of J. Duarte et al., JINST 13 (2018) P07027, arXiv:1804.06913:
  the architecture the hls4ml tutorials train; its accuracy is quoted as a range (0.75-0.766)
  across the public material, the per-class AUCs as single values; no operating points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Reference", "MORENO_DNN", "DUARTE_MLP", "REFERENCES", "NOT_QUOTED"]

#: What the report prints for a number the source does not give.
NOT_QUOTED = "not quoted"


@dataclass(frozen=True)
class Reference:
    """One published model on the real data: a short ``label`` (a table column), the full
    ``citation``, and its numbers (None = not quoted by the source as collected).

    ``accuracy`` is a (low, high) range, equal ends for a single value; ``tpr_at_fpr`` maps a
    class to its signal efficiencies at the background efficiencies ``fprs``.
    """

    label: str
    citation: str
    provenance: str
    accuracy: tuple[float, float] | None
    auc: Mapping[str, float]
    fprs: tuple[float, ...] = ()
    tpr_at_fpr: Mapping[str, tuple[float, ...]] | None = None
    uncertainty: str = "uncertainty not quoted"

    @property
    def auc_macro(self) -> float:
        """Mean of the per-class AUCs (what the report's macro AUC is)."""
        return sum(self.auc.values()) / len(self.auc)

    def accuracy_text(self) -> str:
        if self.accuracy is None:
            return NOT_QUOTED
        lo, hi = self.accuracy
        return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"


MORENO_DNN = Reference(
    label="16-HLF DNN (Moreno et al. 2020)",
    citation=("E. A. Moreno et al., \"JEDI-net: a jet identification algorithm based on "
              "interaction networks\", Eur. Phys. J. C 80 (2020) 58, arXiv:1908.05318"),
    provenance="the paper's fully connected baseline on the 16 high-level features",
    accuracy=None,
    auc={"g": 0.938, "q": 0.903, "W": 0.954, "Z": 0.946, "t": 0.962},
    fprs=(0.10, 0.01),
    tpr_at_fpr={"g": (0.81, 0.40), "q": (0.68, 0.16), "W": (0.84, 0.64), "Z": (0.82, 0.71),
                "t": (0.91, 0.63)},
)

DUARTE_MLP = Reference(
    label="hls4ml 64-32-32 MLP (Duarte et al. 2018)",
    citation=("J. Duarte et al., \"Fast inference of deep neural networks in FPGAs for particle "
              "physics\", JINST 13 (2018) P07027, arXiv:1804.06913"),
    provenance=("the paper's 16-input 64-32-32 ReLU MLP (4389 parameters) as trained in the "
                "public hls4ml material; accuracy is the range quoted there"),
    accuracy=(0.75, 0.766),
    auc={"g": 0.942, "q": 0.905, "W": 0.955, "Z": 0.950, "t": 0.964},
)

#: The references shown on real data, in column order.
REFERENCES: tuple[Reference, ...] = (MORENO_DNN, DUARTE_MLP)
