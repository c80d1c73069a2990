"""CSV rows one value longer than the header: pandas then takes the first column as the row
index, without a word, and every value moves one column left. Three causes, told apart here:

* a separator at the end of every row (``0.3,...,g,``): the extra value is empty in every row,
  so the rows are read again without an index (pandas' ``index_col=False``, made for this);
* row names without a header of their own (R's ``write.table``): the index is 0..N-1, 1..N or
  text, and the columns sit where the header says — kept, the names dropped;
* a decimal comma (``0,5``) in a column of every row: the index is the first feature's whole
  part and every feature reads its neighbour's value — refused, naming it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jetstudy.trainables.errors import DataError

__all__ = ["without_implicit_index"]


def without_implicit_index(file: str, frame: pd.DataFrame, limit: int | None,
                           **read: object) -> pd.DataFrame:
    """``frame`` as ``pd.read_csv(file, nrows=limit, **read)`` gave it, with the rows' extra
    value dealt with as the module says (a frame with a plain 0..N-1 index is returned as is)."""
    if isinstance(frame.index, pd.RangeIndex):
        return frame
    if len(frame.columns) and frame.iloc[:, -1].isna().all():  # 'a,b,...,g,' on every row
        return pd.read_csv(file, nrows=limit, index_col=False, **read)
    if frame.index.nlevels == 1 and _row_names(frame.index):
        return frame.reset_index(drop=True)
    first = frame.index[0]
    first = first.item() if isinstance(first, np.generic) else first
    extra = frame.index.nlevels
    raise DataError(
        f"{file}: every row has {extra} value{'s' * (extra > 1)} more than the header's "
        f"{len(frame.columns)} names, so the first column{'s' * (extra > 1)} would be read as "
        f"row names (the first row's: {first!r}) and every value one column off: a decimal "
        "comma (0,5) in a column? Export the table again with '.' as the decimal separator; "
        "if the first column holds row names, give it a name in the header (e.g. id)")


def _row_names(index: pd.Index) -> bool:
    """Row names as writers put them: 0..N-1 or 1..N in order, or text that is no number."""
    values = pd.Series(index)
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():
        start = numbers.iloc[0]
        return bool(start in (0, 1) and np.array_equal(numbers.to_numpy(),
                                                       np.arange(start, start + len(values))))
    return bool(numbers.isna().all() and values.is_unique)
