"""Chapters 3–4 problems on a small network: the model and its graph (`model`), how the
problems read (`wording`), the named mistakes (`mistakes`), the forward and backward pass
(`passes`) and finding a planted bug in a worked backward pass (`find_bug`)."""
