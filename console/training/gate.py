"""When a candidate model may replace the one visitors get: the one home of that decision.

A candidate passes when, on questions it never saw, it is at least as good as the current model:
held-out NLU weighted F1 at least the suite's floor and no more than ``F1_TOLERANCE`` below the
current model's; no more answers about a topic the question did not ask (misleading) on the
held-out verbatim questions, asked end to end of a running stack (the answer-quality bench); and
every conversation test passes.
"""

from __future__ import annotations

from typing import Any, Dict, List

# The floor the test suite holds the shipped model to (tests/integration/test_rasa.py reads it from here).
MIN_WEIGHTED_F1 = 0.90
# Retraining is not bit-for-bit repeatable; a smaller drop than this is noise, not a regression.
F1_TOLERANCE = 0.01


MISLEADING = "misleading rate (another topic's answer)"  # the bench's name for it


def verdict(
    before: Dict[str, Any], after: Dict[str, Any], conversations: Dict[str, Any], bench: Dict[str, Any]
) -> Dict[str, Any]:
    """``before``/``after``: NLU figures (held-out F1); ``bench``: the answer-quality bench's figures."""
    reasons: List[str] = []
    if after["weighted_f1"] < MIN_WEIGHTED_F1:
        reasons.append(f"held-out weighted F1 {after['weighted_f1']:.3f} is below {MIN_WEIGHTED_F1:.2f}")
    if after["weighted_f1"] < before["weighted_f1"] - F1_TOLERANCE:
        reasons.append(f"held-out weighted F1 fell from {before['weighted_f1']:.3f} to {after['weighted_f1']:.3f}")
    was, now = bench["before"][MISLEADING][0], bench["after"][MISLEADING][0]
    if now > was:
        reasons.append(f"more misleading answers on held-out questions: {was} -> {now}")
    if not conversations.get("passed"):
        reasons.append(f"{conversations.get('failed_stories', '?')} conversation test(s) failed")
    return {"held": not reasons, "reasons": reasons}
