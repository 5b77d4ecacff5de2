"""Keeps the assistant quiet while an admissions officer owns the conversation.

While the ``handoff`` slot is ``queued`` or ``live`` (``core.handoff``), every visitor message is
still parsed and stored in the conversation as usual (so transcripts, exports and trends stay
complete, and the officer's console shows it), but the next action is ``action_listen``: the
assistant does not answer. The decision sits in Rasa itself, not only in the widget, so no client
can make the bot talk over the officer.

It outranks RulePolicy by priority and predicts nothing (all zeros) when no hand-off is active, so
every other turn is decided exactly as before. It learns nothing from the training data.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from core.handoff import ACTIVE_STATES, HANDOFF_SLOT

# RulePolicy's priority is 6 (rasa.core.constants.RULE_POLICY_PRIORITY); ties on confidence go to
# the higher priority, so a hand-off wins over any rule.
HANDOFF_POLICY_PRIORITY = 7


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class HandoffPolicy(Policy):
    """Predicts ``action_listen`` after a visitor message while a person owns the conversation."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": HANDOFF_POLICY_PRIORITY}

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if is_handed_off(tracker):
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)


def is_handed_off(tracker: DialogueStateTracker) -> bool:
    """Whether a person owns the conversation (domains without the slot never hand off)."""
    return HANDOFF_SLOT in tracker.slots and tracker.get_slot(HANDOFF_SLOT) in ACTIVE_STATES
