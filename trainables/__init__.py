"""Jet data, the MLP tagger and the Ray Tune trial loop.

Kept import-light: ``jetstudy.trainables.model``, ``jetstudy.trainables.loop`` and ``jetstudy.trainables.checkpoint`` import
torch; the data, metrics, schema, ``objective`` (which value is better) and ``bookkeeping`` (a
trial's best epoch, checkpoints, patience) modules do not, so ``analysis`` can use them on a
machine without torch.
"""
