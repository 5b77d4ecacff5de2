"""The one home of the dialogue's names: which intents ask about a topic, which mean a miss, and
which actions answer them.

Topics themselves are declared in the knowledge file (``Knowledge.topics``); an intent asks about a
topic by its name alone (``ask_<topic>``), so the action server, the console and the tests derive
one from the other instead of keeping lists that drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from core.handoff import PEOPLE_INTENTS

if TYPE_CHECKING:  # pragma: no cover - typing only
    from core.knowledge import Knowledge

ANSWER_INTENT_PREFIX = "ask_"
ANSWER_ACTION = "action_answer_topic"
MISS_ACTION = "action_handle_miss"
GREET_ACTION = "action_greet"
# The slot the answer action sets to the topic it answered, right after its reply (it may answer
# another topic than the intent: "how much is that?" after the deposit is answered as the deposit).
TOPIC_SLOT = "topic"
# What the chat widget sends when it opens (widget/src/strings.js ``greetingPayload``): the page
# greeting the visitor, not a message the visitor wrote.
GREETING_PAYLOAD = "/greet"

# What the NLU adds to a message's parse data beside Rasa's intent and ranking (bot/nlu/), which the
# actions read: the two questions of a two-question message, its language (``en`` or another ISO
# code), and the second encoder's nearest training example (``{"name", "similarity"}``).
QUESTIONS = "questions"
# A message of three or more questions: the topics of those beyond the two answered, offered as buttons.
ALSO_ASKED = "also_asked"
LANGUAGE = "language"
# A message longer than the NLU reads (its ``max_chars``): how many characters were read, so the
# reply can say the rest was not.
READ_CHARS = "read_chars"
# A complaint that says what was wanted ("that's not what I asked, I wanted the start date"): the
# wanted words and their own top intent (``{"text", "intent"}``), answered after a short apology.
CORRECTION = "correction"
SECOND_OPINION = "second_opinion"

# Degrees the assistant does not cover, as visitors name them (the NLU's ``other_program`` entity): a
# question about one of them gets "I can only answer about MISM and MSIT" with the contact, never our
# programs' answer. Not facts: only names, matched case-insensitively as whole words. A master's in
# computer science is left out: visitors weigh it against ours ("is a masters in CS worth it?").
OTHER_PROGRAM_ENTITY = "other_program"
OTHER_PROGRAM_RESPONSE = "utter_other_program"
OTHER_PROGRAMS = (
    "mba",
    "m.b.a.",
    "executive mba",
    "mpa",
    "pmpa",
    "master of public administration",
    "masters in public administration",
    "mpp",
    "master of public policy",
    "msppm",
    "public policy and management",
    "master of public management",
    "arts management",
    "mshca",
    "health care policy and management",
    "healthcare policy and management",
    "mcds",
    "computational data science",
    "phd",
    "ph.d.",
    "ph.d",
    "doctoral program",
    "doctorate",
)

FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
# Intents that mean the assistant did not understand, with the label staff see for each.
MISS_INTENTS: Dict[str, str] = {FALLBACK_INTENT: "fallback", OUT_OF_SCOPE_INTENT: "out of scope"}
# A visitor's "helpful / not helpful" click on an answer: only ever a button payload
# (``/feedback{"helpful":"yes"}``), never typed, so the intent has no NLU examples.
FEEDBACK_INTENT = "feedback"
FEEDBACK_ENTITY = "helpful"
FEEDBACK_ACTION = "action_record_feedback"
HELPFUL, NOT_HELPFUL = "yes", "no"
# A typed complaint ("that's not what I asked", "not helpful"): gets the "not helpful" reply, and rates
# "not helpful" the answer right before it, if that answer came after the visitor's previous message.
COMPLAINT_INTENT = "complain"
# The key of the ``custom`` payload the answer action adds to a message the visitor may rate; Rasa's
# REST channel sends it as its own item right after the message (the widget's signal).
FEEDBACK_MARKER = "feedback"
# Intents that are conversation mechanics rather than a question about a topic (with asking for a
# person and the follow-up form's, declared in core/handoff.py).
# Small talk: never an answer to a form's question (a name, a question for admissions).
SMALL_TALK_INTENTS = ("greet", "goodbye", "thank", "affirm", "deny", COMPLAINT_INTENT)
CONVERSATION_INTENTS = (
    "inform",
    *SMALL_TALK_INTENTS,
    "bot_challenge",
    FEEDBACK_INTENT,
    *PEOPLE_INTENTS,
)

# What kind of reply each response is: the one list behind the answer-type analytics, keyed by the
# response name Rasa stores in a bot event's metadata (``utter_action``). Other responses (greetings,
# thanks, feedback acknowledgements) are small talk and not counted.
ANSWER_TYPES: Dict[str, str] = {
    "utter_answer": "knowledge",
    "utter_answer_contact": "knowledge",
    "utter_unknown": "known_unknown",
    "utter_fallback": "fallback",
    # Unsure: the likeliest topics offered as buttons; another language: "English only". Both are misses.
    "utter_suggest_topics": "fallback",
    "utter_suggest_topic": "fallback",
    "utter_english_only": "fallback",
    "utter_out_of_scope": "out_of_scope",
    OTHER_PROGRAM_RESPONSE: "out_of_scope",
    "utter_handoff": "handoff",
    # The second miss while an officer is free, and the answers to "can I talk to a person?".
    "utter_handoff_live": "handoff",
    "utter_offer_live": "handoff",
    "utter_offer_followup": "handoff",
    "utter_handoff_queued": "handed_to_person",
    "utter_followup_submitted": "followup",
    "utter_action_failed": "action_failed",
}
# Each type's label for staff, in the order charts show them.
ANSWER_TYPE_LABELS: Dict[str, str] = {
    "knowledge": "Answered from knowledge",
    "known_unknown": "Known unknown",
    "fallback": "Fallback",
    "out_of_scope": "Out of scope",
    # The key stays "handoff" (other modules and tests name it); the reply only suggests the contact.
    "handoff": "Contact suggested",
    "handed_to_person": "Handed to a person",
    "followup": "Follow-up taken",
    "action_failed": "Action failed",
}
# Replies the visitor may rate (the answers to a question), and the ones that suggest contacting a person.
RATED_TYPES = ("knowledge", "known_unknown")
# A reply to a question the assistant could not place: the likeliest topics as buttons (the first is
# the likeliest), "English only", or the honest miss.
FALLBACK_TYPE = "fallback"
# A reply saying the question is outside what the assistant covers ("I can only answer about MISM and
# MSIT"): its question was not answered, whatever topic the NLU gave it.
OUT_OF_SCOPE_TYPE = "out_of_scope"
HANDOFF_TYPES = ("handoff",)
# Replies that mean a person took the conversation over: a live hand-off the visitor accepted
# (queued), or a follow-up request taken. A conversation with neither is *contained*.
HANDED_TO_PERSON, FOLLOWUP_TAKEN = "handed_to_person", "followup"


def intent_for(topic: str) -> str:
    """``deadlines`` -> ``ask_deadlines``."""
    return f"{ANSWER_INTENT_PREFIX}{topic}"


def topic_for(intent: Optional[str]) -> Optional[str]:
    """``ask_deadlines`` -> ``deadlines``; ``None`` for an intent that asks about no topic."""
    if intent and intent.startswith(ANSWER_INTENT_PREFIX) and len(intent) > len(ANSWER_INTENT_PREFIX):
        return intent[len(ANSWER_INTENT_PREFIX) :]
    return None


def topic_labels(knowledge: "Knowledge") -> Dict[str, str]:
    """Topic id -> short label for menus and charts, in the knowledge file's order."""
    return {topic_id: topic.label for topic_id, topic in knowledge.topics.items()}


def answer_type(utter_action: Optional[str]) -> Optional[str]:
    """``utter_unknown`` -> ``known_unknown``; ``None`` for small talk and unknown names."""
    return ANSWER_TYPES.get(utter_action or "")


def replies_out_of_scope(utter_action: Optional[str]) -> bool:
    """Whether this response tells the visitor their question is outside what the assistant covers."""
    return answer_type(utter_action) == OUT_OF_SCOPE_TYPE


def responses_of(types: Any) -> List[str]:
    """The response names whose answer type is one of ``types``."""
    return [name for name, kind in ANSWER_TYPES.items() if kind in types]


def asks_feedback(utter_action: Optional[str]) -> bool:
    """Whether the visitor is offered "helpful / not helpful" on this response."""
    return answer_type(utter_action) in RATED_TYPES


def feedback_value(value: Any) -> Optional[str]:
    """A ``helpful`` entity value as ``"yes"`` / ``"no"``; ``None`` for anything else."""
    text = str(value).strip().lower() if isinstance(value, (str, bool)) else ""
    if text in (HELPFUL, "true"):
        return HELPFUL
    if text in (NOT_HELPFUL, "false"):
        return NOT_HELPFUL
    return None
