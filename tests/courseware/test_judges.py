"""Every typical mistake of the checks' tests fails the out-of-kernel judge on hidden inputs.

For each chapter one sandboxed kernel loads the chapter's check tests
(``tests/courseware/test_checks_*.py``: the reference solutions and the typical mistakes),
then, for each case, binds the student's function names to one of them and asks
:func:`courseware.judge.judge_exercise` for a verdict, exactly as ``make autograde`` does
after running a submission: the check runs in this process, on inputs drawn at grading
time, and calls the kernel's function through :mod:`courseware.remote`. The fragments
asserted are the ones that do not depend on the inputs (the visible checks' tests also
assert numbers, such as "keeps 20%", that the hidden inputs change).
"""
from __future__ import annotations

import pytest

from courseware.book import ROOT
from courseware.judge import JUDGES, judge_exercise
from courseware.sandbox import Sandbox

pytestmark = pytest.mark.slow

FWD = {"dropout_backward": "reference_backward"}
BWD = {"dropout_forward": "reference_forward"}

#: chapter -> (check tests module, exercise, [(bindings, fragment or None for a pass)])
CASES = {
    "01_masks": ("test_checks_masks.py", None, [
        ({"draw_mask": "reference_draw_mask"}, None),
        ({"draw_mask": "library_draw_mask"}, None),
        ({"draw_mask": "backwards_rule"}, "your rule is backwards"),
        ({"draw_mask": "global_rng"}, "global random state"),
        ({"draw_mask": "float_mask"}, "a mask should be boolean (True = keep)"),
        ({"draw_mask": "shared_across_batch"}, "every example (row) got the same mask"),
        ({"draw_mask": "not_shared"}, "your mask is not shared along axis"),
        ({"draw_mask": "shared_full_size"}, "but keeps its full size there"),
        ({"draw_mask": "axis_off_by_one"}, " instead of axis"),
        ({"draw_mask": "edits_shape"}, "must stay as it is"),
        ({"draw_mask": "no_shared_argument"}, "must accept the argument shared_axes"),
        ({"dropconnect": "reference_dropconnect"}, None),
        ({"dropconnect": "library_dropconnect"}, None),
        ({"dropconnect": "stub_dropconnect"}, "not implemented yet: dropconnect"),
        ({"dropconnect": "dc_batch_mask"}, "every example got the same weight mask"),
        ({"dropconnect": "dc_input_dropout"}, "dropout on the layer's input x"),
        ({"dropconnect": "dc_output_dropout"}, "dropout on the layer's output"),
        ({"dropconnect": "dc_not_scaled"}, "must be scaled by 1 / (1 - p_drop)"),
        ({"dropconnect": "dc_times_keep"}, "multiplied by 1 - p_drop"),
        ({"dropconnect": "dc_divide_by_p"}, "divided by p_drop"),
        ({"dropconnect": "dc_backwards"}, "your rule is backwards"),
        ({"dropconnect": "dc_global_rng"}, "global random state"),
        ({"dropconnect": "dc_own_generator"}, "two different rng seeds gave the same output"),
        ({"dropconnect": "dc_in_place_weights"}, "changed the weights W in place"),
        ({"dropconnect": "dc_in_place_input"}, "changed its input x in place"),
        # dc_matmul_stack's (N, N, D_out) answer can exceed what one call may bring back
        # ("larger than 64 MB"): it fails either way; its own message is tested visibly
        ({"dropconnect": "dc_matmul_stack"}, "dropconnect"),
    ]),
    "02_inverted_dropout": ("test_checks_inverted.py", "ex-inv-implement", [
        ({"dropout_forward": "reference_forward", **FWD}, None),
        ({"dropout_forward": "library_forward", "dropout_backward": "library_backward"}, None),
        ({"dropout_forward": "positional_only", **FWD}, None),
        ({"dropout_forward": "stub_forward", **FWD}, "not implemented yet: dropout_forward"),
        ({"dropout_forward": "no_rescale", **FWD}, "forgot to rescale"),
        ({"dropout_forward": "keep_meaning", **FWD}, "probability of DROPPING"),
        ({"dropout_forward": "eval_still_on", **FWD}, "dropout is still on"),
        ({"dropout_forward": "original_eval", **FWD}, "original form's test-time rule"),
        ({"dropout_forward": "times_keep", **FWD}, "multiplied by the keep probability"),
        ({"dropout_forward": "divide_by_p", **FWD}, "divided by p_drop instead of by 1 - p_drop"),
        ({"dropout_forward": "fixed_factor", **FWD}, "computed from p_drop"),
        ({"dropout_forward": "global_rng", **FWD}, "global random state"),
        ({"dropout_forward": "own_generator", **FWD}, "two different rng seeds gave the same"),
        ({"dropout_forward": "returns_only_out", **FWD}, "return a pair (out, cache)"),
        ({"dropout_forward": "in_place", **FWD}, "modified its input x in place"),
        ({"dropout_forward": "less_equal_zero", **FWD}, "with p_drop = 0 the output must equal x"),
        ({"dropout_forward": "shared_by_batch", **FWD}, "every example (row) got the same mask"),
        ({**BWD, "dropout_backward": "stub_backward"}, "not implemented yet: dropout_backward"),
        ({**BWD, "dropout_backward": "ignores_mask"}, "your backward pass ignores the mask"),
        ({**BWD, "dropout_backward": "forgets_scale"}, "forgets the factor 1 / (1 - p_drop)"),
        ({**BWD, "dropout_backward": "new_mask"}, "zeroes different units than the forward"),
        ({**BWD, "dropout_backward": "passes_through"}, "returns dout unchanged"),
        ({**BWD, "dropout_backward": "in_place_backward"}, "modified dout in place"),
        ({**BWD, "dropout_backward": "returns_none"}, "returned None"),
        ({**BWD, "dropout_backward": "crashes"}, "dropout_backward(dout, cache) raised TypeError"),
        ({**BWD, "dropout_backward": "backward_scales_in_eval"},
         "in evaluation (train=False) dropout_backward does not return dout unchanged"),
        ({"lr_factor": "reference_lr_factor"}, None),
        ({"lr_factor": "lr_stub"}, "not implemented yet: lr_factor"),
        ({"lr_factor": "lr_same"}, "same learning rate"),
        ({"lr_factor": "lr_keep"}, "account for the gradient too"),
        ({"lr_factor": "lr_drop_squared"}, "keep probability q = 1 - p_drop"),
        ({"lr_factor": "lr_visible_only"}, "is not the factor"),
    ]),
    "03_co_adaptation": ("test_checks_coadaptation.py", None, [
        ({"knockout_accuracy": "reference_knockout"}, None),
        ({"knockout_accuracy": "choice_knockout"}, None),
        ({"knockout_accuracy": "stub_knockout"}, "not implemented"),
        ({"knockout_accuracy": "keep_fraction"}, "fraction REMOVED"),
        ({"knockout_accuracy": "error_rate"}, "error rate"),
        ({"knockout_accuracy": "train_mode"}, "train=True"),
        ({"knockout_accuracy": "wrong_layer"}, "layer(s) [1]"),
        ({"knockout_accuracy": "with_replacement"}, "drawn twice"),
        ({"knockout_accuracy": "first_units"}, "two different rng seeds removed the same units"),
        ({"knockout_accuracy": "no_ablation_used"}, "switched off no unit"),
        ({"knockout_accuracy": "ablates_but_scores_intact"}, "that is the intact accuracy"),
        ({"knockout_accuracy": "returns_none"}, "return"),
        ({"unit_damage": "reference_damage"}, None),
        ({"unit_damage": "stub_damage"}, "not implemented"),
        ({"unit_damage": "flipped_sign"}, "sign is flipped"),
        ({"unit_damage": "no_baseline"}, "subtract the intact"),
        ({"unit_damage": "accuracy_damage"}, "changes of the accuracy"),
        ({"unit_damage": "cumulative"}, "removed units 0..i together"),
        ({"unit_damage": "layer_one"}, "size of layer 1"),
        ({"unit_damage": "damage_in_train_mode"}, "train=True"),
    ]),
    "04_ensembles": ("test_checks_ensembles.py", None, [
        ({"enumerate_subnetworks": "reference_enumerate"}, None),
        ({"enumerate_subnetworks": "stub_enumerate"}, "not implemented"),
        ({"enumerate_subnetworks": "keep_prob_swapped"}, "KEEP probability"),
        ({"enumerate_subnetworks": "uniform_probs"}, "only right for p_drop = 0.5"),
        ({"enumerate_subnetworks": "only_single_drops"}, "subnetworks"),
        ({"enumerate_subnetworks": "duplicates"}, "appear twice"),
        ({"enumerate_subnetworks": "transposed"}, "transposed"),
        ({"enumerate_subnetworks": "shuffled_probs"}, "belongs to masks[i]"),
        ({"enumerate_subnetworks": "forgot_return"}, "returned None"),
        ({"enumerate_subnetworks": "unnormalised"}, "sum to"),
        ({"mc_error_bars": "reference_bars"}, None),
        ({"mc_error_bars": "ddof_one"}, None),
        ({"mc_error_bars": "stub_bars"}, "not implemented"),
        ({"mc_error_bars": "dropout_off"}, "dropout ON"),
        ({"mc_error_bars": "variance"}, "looks like the variance"),
        ({"mc_error_bars": "weight_scaled_mean"}, "weight-scaled"),
        ({"mc_error_bars": "wrong_axis"}, "one value per pass"),
        ({"mc_error_bars": "column_shape"}, "1-D arrays"),
        ({"mc_error_bars": "own_generator"}, "different rng seeds"),
        ({"mc_error_bars": "global_state"}, "same rng seed gave different"),
        ({"mc_error_bars": "few_passes"}, "your"),
    ]),
    "05_noise_and_modern": ("test_checks_modern.py", None, [
        ({"noise_variance": "reference_variance"}, None),
        ({"noise_variance": "stub"}, "not implemented"),
        ({"noise_variance": "variance_of_mask"}, "0/1 mask"),
        ({"noise_variance": "variance_std"}, "standard deviation"),
        ({"noise_variance": "variance_constant"}, "not the variance"),
        ({"gaussian_dropout": "reference_gaussian"}, None),
        ({"gaussian_dropout": "stub"}, "not implemented"),
        ({"gaussian_dropout": "gaussian_by_variance"}, "square root"),
        ({"gaussian_dropout": "gaussian_is_bernoulli"}, "Bernoulli"),
        ({"gaussian_dropout": "gaussian_global_rng"}, "global"),
        ({"gaussian_dropout": "gaussian_wrong_mean"}, "mean 1"),
        ({"gaussian_dropout": "gaussian_in_place"}, "in place"),
        ({"spatial_dropout": "reference_spatial"}, None),
        ({"spatial_dropout": "spatial_element_wise"}, "one decision"),
        ({"spatial_dropout": "spatial_shared_by_batch"}, "same decisions"),
        ({"spatial_dropout": "spatial_not_scaled"}, "scaled"),
        ({"spatial_dropout": "spatial_backwards"}, "keeps"),
        ({"drop_path": "reference_drop_path"}, None),
        ({"drop_path": "drop_path_per_token"}, "one decision per example"),
    ]),
    "06_sequences_and_practice": ("test_checks_sequences.py", None, [
        ({"locked_mask": "reference_locked"}, None),
        ({"locked_mask": "stub"}, "not implemented"),
        ({"locked_mask": "locked_fresh"}, "changes from step to step"),
        ({"locked_mask": "locked_batch_shared"}, "every sequence got the same mask"),
        ({"locked_mask": "locked_not_scaled"}, "yours are 1"),
        ({"locked_mask": "locked_backwards"}, "backwards"),
        ({"locked_mask": "locked_global_rng"}, "global"),
        ({"dropblock_mask": "reference_dropblock"}, None),
        ({"dropblock_mask": "stub"}, "not implemented"),
        ({"dropblock_mask": "dropblock_elementwise"}, "squares"),
        ({"dropblock_mask": "dropblock_gamma_is_p"}, "eq. 1"),
        ({"dropblock_mask": "dropblock_no_edge_factor"}, "eq. 1"),
        ({"dropblock_mask": "dropblock_backwards"}, "True must mean kept"),
        ({"dropblock_mask": "dropblock_shared_channels"}, "every channel"),
        ({"dropblock_mask": "dropblock_float"}, "boolean"),
        ({"dropblock_mask": "dropblock_centres_clipped"}, "wholly inside"),
        ({"alpha_constants": "reference_alpha"}, None),
        ({"alpha_constants": "stub"}, "not implemented"),
        ({"alpha_constants": "alpha_plain_inverted"}, "alpha'"),
        ({"alpha_constants": "alpha_sign_flipped"}, "wrong sign"),
        ({"alpha_constants": "alpha_no_shift"}, "mean"),
    ]),
}

_LOAD = """\
import importlib.util as _u
_spec = _u.spec_from_file_location("_mistakes", {path!r})
_mistakes = _u.module_from_spec(_spec)
_spec.loader.exec_module(_mistakes)
"""


def _label(chapter: str, bindings: dict[str, str]) -> str:
    names = set(bindings)
    return next(label for label, judge in JUDGES[chapter].items()
                if set(judge.functions) <= names)


@pytest.mark.parametrize("chapter", sorted(CASES))
def test_every_typical_mistake_fails_on_hidden_inputs(chapter):
    module, _, cases = CASES[chapter]
    path = ROOT / "tests" / "courseware" / module
    wrong = []
    with Sandbox(timeout_cell=60) as sb:
        status, text = sb.run(_LOAD.format(path=str(path)))
        assert status == "ok", text
        for bindings, fragment in cases:
            for name in {n for j in JUDGES[chapter].values() for n in j.functions}:
                sb.run(f"globals().pop({name!r}, None)")
            sb.run("\n".join(f"{k} = _mistakes.{v}" for k, v in bindings.items()))
            label = _label(chapter, bindings)
            result = judge_exercise(sb, chapter, label, hidden=True)
            if fragment is None:
                ok = result.passed
            else:
                ok = not result.passed and fragment in result.messages[0]
            if not ok:
                wrong.append((bindings, fragment, result))
    assert not wrong, "\n".join(f"{b}: expected {f!r}, got {r}" for b, f, r in wrong)


def test_every_exercise_with_a_check_has_a_judge():
    """Each implement exercise with a check cell is judged out of kernel."""
    import nbformat

    from courseware.student import parse_chapter

    for chapter in ("01_masks", "02_inverted_dropout", "03_co_adaptation", "04_ensembles",
                    "05_noise_and_modern", "06_sequences_and_practice"):
        nb = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
        checked = {ex.label for ex in parse_chapter(nb, chapter).exercises if ex.auto_graded}
        assert checked and checked == set(JUDGES[chapter]), chapter
