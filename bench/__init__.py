"""Benchmarks of jetstudy against the plain Ray Tune recipe (see bench/README.md).

* :mod:`bench.throughput` — trial-epochs/s of both on the same jets, GPU utilisation and memory;
* :mod:`bench.driver_memory` — the driver's memory over a study of many tiny trials;
* :mod:`bench.plain_recipe` — the baseline trainable and Tuner, as Ray's tutorials write them.
"""
