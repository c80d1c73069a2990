"""Jet data, the MLP tagger and the Ray Tune trial loop.

Kept import-light: ``trainables.model`` and ``trainables.loop`` import torch; the data, metrics
and schema modules do not, so ``analysis`` can use them on a machine without torch.
"""
