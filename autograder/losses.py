"""Hidden tests: MSE, binary and softmax cross-entropy, and their gradients."""

import numpy as np

from backproplab.tasks import FD, Call, Check, Probe, scale_probes

CHAPTER = 1
TITLE = "Loss functions and their gradients"
SOLUTION = "losses"
FUNCTIONS = ["mse_loss", "mse_grad", "bce_loss", "bce_grad", "softmax_ce_loss", "softmax_ce_grad"]


def checks(rng: np.random.Generator, sol) -> list[Check]:
    """MSE, BCE and softmax-CE on two batch sizes each (so 1/N shows), plus huge logits."""
    out: list[Check] = []
    for case, n in enumerate((3, 5), start=1):
        pred, y = 2 * rng.normal(size=n), 2 * rng.normal(size=n)
        loss = Call("mse_loss", (pred, y))
        sq = float(np.sum((pred - y) ** 2))
        out.append(Check(f"mse_loss, hidden case {case}", loss, sol.mse_loss(pred, y), probes=[
            Probe("scaled by N", sq, "you summed the squared errors without dividing by N"),
            Probe("factor 2", sq / (2 * n), "this task's MSE has no 1/2 in front"),
        ]))
        grad = sol.mse_grad(pred, y)
        out.append(Check(f"mse_grad, hidden case {case}", Call("mse_grad", (pred, y)), grad,
                         probes=scale_probes(grad, n, two=True), fd=FD(loss, 0)))

        z, labels = 3 * rng.normal(size=n + 1), rng.integers(0, 2, size=n + 1).astype(float)
        bce = Call("bce_loss", (z, labels))
        out.append(Check(f"bce_loss, hidden case {case}", bce, sol.bce_loss(z, labels)))
        g = sol.bce_grad(z, labels)
        out.append(Check(f"bce_grad, hidden case {case}", Call("bce_grad", (z, labels)), g,
                         probes=scale_probes(g, n + 1), fd=FD(bce, 0)))

        logits, cls = 2 * rng.normal(size=(n, 4)), rng.integers(0, 4, size=n)
        ce = Call("softmax_ce_loss", (logits, cls))
        out.append(Check(f"softmax_ce_loss, hidden case {case}", ce, sol.softmax_ce_loss(logits, cls)))
        g = sol.softmax_ce_grad(logits, cls)
        probs_only = g.copy()
        probs_only[np.arange(n), cls] += 1.0 / n
        out.append(Check(f"softmax_ce_grad, hidden case {case}", Call("softmax_ce_grad", (logits, cls)), g,
                         probes=scale_probes(g, n) + [Probe("one-hot not subtracted", probs_only,
                                "each row of your gradient sums to 1/N instead of 0: subtract the one-hot label from softmax")],
                         fd=FD(ce, 0)))
    # numerical stability: logits far beyond where exp overflows
    big = np.array([800.0, -800.0, 30.0, -1000.0])
    labels = np.array([0.0, 1.0, 1.0, 0.0])
    out.append(Check("bce_loss, huge logits (stability)", Call("bce_loss", (big, labels)), sol.bce_loss(big, labels)))
    out.append(Check("bce_grad, huge logits (stability)", Call("bce_grad", (big, labels)), sol.bce_grad(big, labels)))
    logits = np.array([[1000.0, 0.0, -1000.0], [5.0, 1001.0, 999.0]])
    cls = np.array([2, 1])
    out.append(Check("softmax_ce_loss, huge logits (stability)", Call("softmax_ce_loss", (logits, cls)),
                     sol.softmax_ce_loss(logits, cls)))
    out.append(Check("softmax_ce_grad, huge logits (stability)", Call("softmax_ce_grad", (logits, cls)),
                     sol.softmax_ce_grad(logits, cls)))
    return out
