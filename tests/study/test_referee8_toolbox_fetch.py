"""Referee 8, toolbox: `jetstudy fetch hls4ml` downloads from an address that answers.

The OpenML table's URL was on ``openml1.win.tue.nl``, OpenML's file store until January 2025;
that host no longer answers (scikit-learn moved its example off it: "is no longer reachable",
scikit-learn PR #30715) and OpenML serves the same MinIO buckets at ``data.openml.org``, the
address OpenML's maintainers call stable (scikit-learn PR #30824). The path is kept, so a
``JETSTUDY_MIRROR`` folder laid out by the README still serves. No network here: the test holds
the address, the loopback tests (test_fetch.py) the download.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from jetstudy.study.fetch import DATASETS


def test_the_openml_table_comes_from_openmls_current_file_store() -> None:
    url = urlsplit(DATASETS["hls4ml"]["table"][0].url)
    assert (url.scheme, url.netloc) == ("https", "data.openml.org")
    # the README's mirror layout (/shared/mirror/datasets/0004/42468/dataset_42468.pq)
    assert url.path == "/datasets/0004/42468/dataset_42468.pq"
