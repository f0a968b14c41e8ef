"""The structures each hand problem type can take (its assignment options), for the tests.

A problem's structure is chosen by the assignment and its numbers by the seed, so a test
that covers a type covers each of its structures: the default (no options) and the ones
listed here. Built-in assignments pin one of them per problem (tests/test_effort.py).
"""

from __future__ import annotations

STRUCTURES: dict[str, list[dict]] = {
    "mse_of_predictions": [{}, {"points": 3, "convention": "half-mean"}, {"points": 5}],
    "loss_of_linear_model": [{}, {"points": 3, "convention": "half-mean"}],
    "mse_gradient_step": [{}, {"points": 2, "convention": "half-mean"}, {"points": 3}],
    "gd_steps_1d": [{}, {"steps": 2}],
    "gd_steps_2d": [{}, {"steps": 3, "cross_term": True}],
    "learning_rate_regimes": [{}, {"rates": 3}],
    "largest_stable_rate": [{}],
    "steps_to_epsilon": [{}],
    "chain_rule_composed": [{}, {"outer": "square"}, {"middle": "cube", "outer": "triple"},
                            {"middle": "reciprocal", "outer": "sin"}, {"middle": "shift square", "outer": "sqrt"},
                            {"outer": ["sigmoid", "tanh"]}, {"middle": ["square", "cube"], "outer": ["exp", "log"]}],
    "graph_gradients": [{}, {"pool": "fork"}, {"pool": "neuron"}, {"template": "sum times z"},
                        {"template": "x used twice"}, {"template": "two-input sigmoid neuron"},
                        {"template": "ReLU with a skip"}],
    "network_forward": [{}, {"hidden": "identity", "batch": 2}, {"sizes": [2, 3, 2], "hidden": "sigmoid", "loss": "ce"},
                        {"sizes": [3, 2, 1], "hidden": "tanh", "loss": "bce"}, {"sizes": [2, 2, 3], "loss": "ce"}],
    "network_backward": [{}, {"hidden": "identity"}, {"hidden": "sigmoid", "loss": "bce", "batch": 1},
                         {"sizes": [2, 3, 2], "hidden": "tanh", "loss": "ce"}, {"sizes": [2, 2, 3], "loss": "ce", "batch": 1},
                         {"sizes": [3, 2, 1], "hidden": "tanh", "batch": 1}],
    "backprop_find_the_bug": [{}, {"hidden": "relu"}, {"hidden": "tanh"}, {"sizes": [3, 3, 1], "hidden": "relu"}],
    "network_shapes": [{}, {"layers": 3, "convention": "columns"}],
    "updates_per_epoch": [{}, {"drop_last": True}],
    "minibatch_gradient": [{}, {"examples": 5, "convention": "half-mean"}],
    "momentum_steps": [{}, {"steps": 2, "convention": "average"}],
    "adam_steps": [{}],
    "sigmoid_chain": [{}, {"layers": 6}],
    "depth_scale": [{}],
    "init_scale": [{}, {"activation": "tanh", "layers": 3}],
    "clip_global_norm": [{}, {"weights": 2}],
    "overshooting": [{}],
    "local_minimum": [{}],
    "read_training_curves": [{}, {"diagnosis": "underfitting"}],
    "learning_quantities": [{}],
    "training_updates": [{}],
    "loss_meaning": [{}],
    "learning_rate_curves": [{}],
    "chain_rule_graph": [{}, {"template": "squared error"}, {"template": "ReLU neuron"}, {"template": "sigmoid neuron"},
                         {"template": "tanh neuron"}, {"template": ["square of affine", "squared error"]}],
    "backward_needs": [{}, {"graphs": "sum times z"}, {"graphs": "square as product"}],
    "match_batch_curves": [{}],
    "choose_batch_method": [{}, {"setting": "mini-batch"}, {"setting": "full-batch"}, {"setting": "single-example"}],
    "diagnose_training_run": [{}, {"defect": "diverging"}, {"defect": "oscillating"}, {"defect": "plateau"},
                              {"defect": "local-minimum"}, {"defect": "overfitting"}, {"defect": "healthy"}],
    "why_it_scales": [{}],
}


def structure(problem: str, seed: int) -> dict:
    """The options of the structure a test draws variant `seed` of `problem` in: seed mod the number of structures."""
    options = STRUCTURES[problem]
    return options[seed % len(options)]
