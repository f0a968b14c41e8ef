"""Chapter 4 — the shapes of everything in a batched forward and backward pass.

Given layer sizes, a batch size and a layout convention, the student writes the
shape of every W, b, Z, A, dW, db and of dX. The sizes are all different (and
different from the batch size), so a transposed or unsummed shape is never
accidentally right.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..tolerance import WHOLE
from .exact import pick
from .variant import Answer, Misconception, ProblemType, Step, Variant, option

# How a batch is laid out: samples as rows (numpy, PyTorch) or as columns (many textbooks).
CONVENTIONS = {
    "rows": r"$X \in \mathbb{R}^{N \times d_0}$, $Z^{(l)} = A^{(l-1)} W^{(l)} + b^{(l)}$ with $W^{(l)}$ of shape "
            r"$(d_{l-1}, d_l)$ and $b^{(l)}$ a vector of length $d_l$ added to every row",
    "columns": r"$X \in \mathbb{R}^{d_0 \times N}$, $Z^{(l)} = W^{(l)} A^{(l-1)} + b^{(l)}$ with $W^{(l)}$ of shape "
               r"$(d_l, d_{l-1})$ and $b^{(l)}$ of shape $(d_l, 1)$ added to every column",
}


def shapes(sizes: list[int], N: int, convention: str) -> dict[str, list[int]]:
    """The shape of every quantity, by answer name."""
    out: dict[str, list[int]] = {}
    for l in range(1, len(sizes)):
        d_in, d_out = sizes[l - 1], sizes[l]
        rows = convention == "rows"
        out[f"W{l}"] = [d_in, d_out] if rows else [d_out, d_in]
        out[f"b{l}"] = [d_out] if rows else [d_out, 1]
        out[f"Z{l}"] = out[f"A{l}"] = [N, d_out] if rows else [d_out, N]
        out[f"dW{l}"] = out[f"W{l}"]
        out[f"db{l}"] = out[f"b{l}"]
    out["dX"] = [N, sizes[0]] if convention == "rows" else [sizes[0], N]
    return out


FEEDBACK = {
    "transposed": "That is the transpose: check which index runs over samples and which over units in this convention.",
    "bias gradient not summed": "db has the shape of b: the per-sample gradients are summed over the batch.",
    "one sample": "With a batch, Z and A hold one row (or column) per sample: N of them.",
}


def network_shapes(rng: np.random.Generator, layers: int = 2, convention: str = "rows") -> Variant:
    """Shapes of W, b, Z, A, dW, db per layer and of dX, for given sizes and batch size (the
    assignment chooses the number of layers and the layout convention)."""
    option("network_shapes", "layers", layers, (1, 2, 3, 4))
    option("network_shapes", "convention", convention, CONVENTIONS)
    sizes = [int(d) for d in rng.choice(np.arange(1, 13), size=layers + 1, replace=False)]
    N = int(pick(rng, [16, 20, 32, 50, 64, 100]))  # never one of the sizes
    right = shapes(sizes, N, convention)
    mis: list[Misconception] = []
    for name, shape in right.items():
        stem = name.rstrip("0123456789")
        if len(shape) == 2:
            mis.append(Misconception("transposed", name, _ints(shape[::-1]), FEEDBACK["transposed"]))
        if stem == "db":
            per_sample = [N, shape[0]] if convention == "rows" else [shape[0], N]
            mis.append(Misconception("bias gradient not summed", name, _ints(per_sample), FEEDBACK["bias gradient not summed"]))
        if stem in ("Z", "A"):
            unit = [shape[1]] if convention == "rows" else [shape[0]]
            mis.append(Misconception("one sample", name, _ints(unit), FEEDBACK["one sample"]))
    answers = [Answer(name, f"the shape of ${_tex(name)}$", _ints(shape), kind="vector", tolerance=WHOLE)
               for name, shape in right.items()]
    statement = (
        f"A fully connected network has layer sizes $d = {tuple(sizes)}$ (input first) and is trained on "
        f"mini-batches of $N = {N}$ samples. The convention: {CONVENTIONS[convention]}. "
        f"`dW1` stands for $\\partial L/\\partial W^{{(1)}}$ and `dX` for $\\partial L/\\partial X$.\n\n"
        "Write the shape of each quantity as a list, e.g. `W1 = [3, 4]` (a vector of length 4 is `[4]`)."
    )
    table = [["quantity", "shape", "why"]] + [
        [f"${_tex(n)}$", f"$({', '.join(map(str, s))})$", _why(n, convention)] for n, s in right.items()]
    return Variant(
        problem="network_shapes", title="Shapes in a batched network", statement=statement,
        params={"sizes": sizes, "batch": N, "layout": convention},
        answers=answers, steps=[Step("Shapes follow from the convention:", table=table)],
        misconceptions=mis, given=[sp.Integer(x) for x in sizes + [N]], style="integers",
    )


def _ints(shape: list[int]) -> list[sp.Integer]:
    return [sp.Integer(x) for x in shape]


def _tex(name: str) -> str:
    stem, layer = name.rstrip("0123456789"), name[len(name.rstrip("0123456789")):]
    if name == "dX":
        return r"\partial L/\partial X"
    if stem.startswith("d"):
        return rf"\partial L/\partial {stem[1:]}^{{({layer})}}"
    return f"{stem}^{{({layer})}}"


def _why(name: str, convention: str) -> str:
    stem = name.rstrip("0123456789")
    sample_axis = "one row per sample" if convention == "rows" else "one column per sample"
    return {
        "W": "maps the previous layer's units to this layer's", "b": "one entry per unit",
        "Z": sample_axis, "A": "same as Z", "dW": "same shape as W", "db": "same shape as b (summed over the batch)",
        "dX": "same shape as X",
    }[stem]


PROBLEMS = [ProblemType("network_shapes", 4, "hand", "Shapes of W, b, Z, A, dW, db and dX",
                        network_shapes, "chain-rule")]
