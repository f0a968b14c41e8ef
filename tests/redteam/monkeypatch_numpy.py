# expect: error-or-rejected
# Patches numpy and builtins so that every comparison passes — inside its own process only
# (patching isinstance breaks the worker too: then the call fails instead).
import builtins, numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.isfinite = lambda x: True
builtins.abs = lambda x: 0
builtins.isinstance = lambda *a: True
def mse_loss(y_pred, y):
    return float("nan")
