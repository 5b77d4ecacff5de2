"""Visitors in their own words, over the real REST channel with the trained model: questions the old
bag-of-words NLU missed, two questions in one message, short follow-ups, capstone examples, and
questions in another language.

What a reply should say is read from the knowledge file (topic headings, what is missing, the
capstone examples), so a yearly fact edit breaks only the tests about that fact.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional

import pytest

from core.knowledge import Knowledge
from tests.support.chat import ask, buttons, shown

pytestmark = pytest.mark.slow


def headings(knowledge: Knowledge, replies: List[Dict[str, Any]]) -> List[Optional[str]]:
    """The topic each reply answers (by its heading, or by what an honest "I don't have" names)."""
    found: List[Optional[str]] = []
    for reply in replies:
        text = reply.get("text", "")
        topic = next((t for t, topic in knowledge.topics.items() if text.startswith(f"{topic.title},")), None)
        topic = topic or next((t for t, topic in knowledge.topics.items() if f"have {topic.missing} for" in text), None)
        if text:
            found.append(topic)
    return found


@pytest.mark.parametrize(
    "question, topic",
    [
        ("what does it cost", "cost"),
        ("do I need a computer science degree to apply?", "requirements"),
        ("how much is it", "cost"),
        ("can I keep my full-time job while doing the online program?", "format"),
        # Things real applicants name in their own words (no example says them this way).
        ("Are TA jobs open to master's students?", "working_while_studying"),
        ("what are the odds I get accepted?", "class_profile"),
        ("can I stay in the US to work after the program?", "stem_opt"),
        ("what salary do graduates make?", "careers"),
        # Eligibility by field of study (no example names these fields or says it this way); a
        # "non-STEM degree" is about admission, not STEM OPT.
        ("my degree is in chemistry, is that ok", "requirements"),
        ("can I get in with a non-STEM degree", "requirements"),
        # Nearly sure (between agreed_threshold and threshold), and the second opinion agrees: answered
        # (the deferral answer is the honest "I don't have the policy" with the page and the contact).
        ("hold my place for next year?", "deferral"),
    ],
)
def test_questions_in_visitors_words_reach_their_topic(stack, knowledge, question, topic):
    replies = ask(stack, question)
    assert headings(knowledge, replies)[0] == topic, shown(replies)


@pytest.mark.parametrize(
    "question",
    ["can I apply if my undergrad was in history", "do u take people whose undergrad was in biology"],
)
def test_an_eligibility_question_gets_the_requirements_or_offers_them_first(stack, knowledge, question):
    """Once just under the fallback's threshold (0.72 against 0.74), now answered (0.92 with the real
    questions of 2026-12-05): the requirements answered, or offered first, never another topic's answer."""
    replies = ask(stack, question)
    answered = [topic for topic in headings(knowledge, replies) if topic]
    if answered:
        assert answered == ["requirements"], shown(replies)
    else:
        assert buttons(replies)[0] == knowledge.topics["requirements"].title, shown(replies)


@pytest.mark.parametrize(
    "question, topics",
    [
        ("Is there a fee, and when is the deadline?", ["application_fee", "deadlines"]),
        ("do I need the GRE? also is it STEM?", ["test_scores", "stem_opt"]),
        # Two things joined by "and", sharing the rest of the question.
        ("what are the requirements and deadlines for MISM", ["requirements", "deadlines"]),
        ("cost and length of the msit program", ["cost", "program_length"]),
    ],
)
def test_two_questions_in_one_message_get_both_answers(stack, knowledge, question, topics):
    replies = ask(stack, question, program="mism")
    assert headings(knowledge, replies) == topics, shown(replies)


def test_a_message_of_three_questions_answers_two_and_offers_the_third(stack, knowledge):
    replies = ask(stack, "is there a fee? when's the deadline? do i need gre?", program="mism")
    assert headings(knowledge, replies)[:2] == ["deadlines", "test_scores"], shown(replies)
    assert knowledge.topics["application_fee"].title in buttons(replies[2:]), shown(replies)


def test_one_question_with_and_gets_one_answer(stack, knowledge):
    replies = ask(stack, "Can I work and study at the same time?", program="msit")
    assert len([t for t in headings(knowledge, replies) if t]) <= 1, shown(replies)


@pytest.mark.parametrize(
    "question, page, topic",
    [
        # "part-time" describes MSIT and "Pittsburgh" MISM, but here they are about something else;
        # both were answered for the other program on a real visitor's try.
        ("Can I have a part-time job while studying?", "mism", "working_while_studying"),
        ("Do I need to relocate to Pittsburgh for this?", "msit", "format"),
    ],
)
def test_a_word_that_describes_the_other_program_keeps_the_pages_program(stack, knowledge, question, page, topic):
    replies = ask(stack, question, program=page)
    program = knowledge.programs[page].short_name
    assert shown(replies).startswith(f"{knowledge.topics[topic].title}, {program}:"), shown(replies)


def test_a_short_follow_up_with_a_description_switches_program(stack, knowledge):
    sender = f"switch-{uuid.uuid4()}"
    assert "MISM" in shown(ask(stack, "how long is MISM?", sender=sender)).split("\n")[0]
    replies = ask(stack, "and online?", sender=sender)
    first_line = shown(replies).split("\n")[0]
    assert headings(knowledge, replies)[0] == "program_length" and "MSIT" in first_line, shown(replies)
    assert "MISM" not in first_line, shown(replies)


def test_capstone_examples_on_the_home_page(stack, knowledge):
    text = shown(ask(stack, "can you give me some capstone project examples"))
    examples = knowledge.programs["mism"].facts["capstone"].items[: knowledge.topics["capstone"].examples]
    assert examples and all(example in text for example in examples), text


def test_a_short_follow_up_continues_the_topic(stack, knowledge):
    sender = f"follow-{uuid.uuid4()}"
    first = ask(stack, "tell me about the capstone projects", "mism", sender)
    assert headings(knowledge, first)[0] == "capstone"
    more = ask(stack, "any examples?", "mism", sender)
    assert headings(knowledge, more)[0] == "capstone", shown(more)
    examples = knowledge.programs["mism"].facts["capstone"].items
    assert all(example in shown(more) for example in examples), "asking for examples shows every example"
    ask(stack, "when are the deadlines?", "msit", sender)
    spring = ask(stack, "and for spring?", "msit", sender)
    assert headings(knowledge, spring)[0] == "deadlines", shown(spring)


@pytest.mark.parametrize(
    "question, topic",
    [
        ("MISM需要多长时间？", "program_length"),
        ("¿Cuánto cuesta la maestría MISM?", "cost"),
        ("MISM 지원 자격이 뭐예요?", "requirements"),
        # Latin letters: told apart from English by their own words and marks (bot/nlu/language.py).
        ("Quand faut-il postuler pour le MISM ?", "deadlines"),
        ("MISM için burs var mı?", "scholarships"),
    ],
)
def test_another_language_gets_the_right_topic_in_english_or_an_honest_english_only(stack, knowledge, question, topic):
    replies = ask(stack, question)
    text = shown(replies)
    answered = [t for t in headings(knowledge, replies) if t]
    if answered:
        assert answered == [topic], text
        assert "I answer in English only" in text
    else:
        assert "only answer in English" in text and knowledge.contact.email in text


@pytest.mark.parametrize(
    "question, program",
    [
        ("¿Cuánto cuesta el MISM? ¿Y cuándo cierra la solicitud?", None),
        ("MSIT 학비는 얼마예요? 마감일은 언제예요?", "msit"),
    ],
)
def test_two_questions_in_another_language_get_both_answers_in_english(stack, knowledge, question, program):
    """Only English was split: the Spanish cost-and-deadline question got the cost alone."""
    replies = ask(stack, question, program=program)
    assert [t for t in headings(knowledge, replies) if t] == ["cost", "deadlines"], shown(replies)
    assert "I answer in English only" in shown(replies)


def test_an_unsure_follow_up_offers_the_topic_being_discussed_first(stack, knowledge):
    """ "and if I miss it?" after the deadlines was offered Program length and Recommendations."""
    sender = f"follow-{uuid.uuid4()}"
    ask(stack, "what are the deadlines?", program="mism", sender=sender)
    replies = ask(stack, "and if I miss it?", program="mism", sender=sender)
    offered = buttons(replies)
    deadlines = knowledge.topics["deadlines"].title
    assert headings(knowledge, replies)[0] == "deadlines" or offered[:1] == [deadlines], shown(replies)


def test_a_follow_up_about_another_degree_is_not_sent_outside(stack, knowledge):
    """ "what if I have an MBA?" after the GRE rules is about the GRE rules (the MSIT waiver), not
    "outside what I can help with"."""
    sender = f"follow-{uuid.uuid4()}"
    ask(stack, "do I need the GRE?", program="msit", sender=sender)
    replies = ask(stack, "what if I have an MBA?", program="msit", sender=sender)
    assert "outside what I can help with" not in shown(replies)
    title = knowledge.topics["test_scores"].title
    assert headings(knowledge, replies)[0] == "test_scores" or title in buttons(replies), shown(replies)


def test_the_welcome_names_the_pages_program_and_is_not_repeated(stack, knowledge):
    """The widget sends /greet on opening; a "hi" typed later gets a short reply, not the menu again."""
    sender = f"welcome-{uuid.uuid4()}"
    welcome = shown(ask(stack, "/greet", program="msit", sender=sender))
    msit = knowledge.programs["msit"]
    assert f"You're on the {msit.short_name} ({msit.name}) page" in welcome, welcome
    again = shown(ask(stack, "hello", program="msit", sender=sender))
    assert again.startswith("Hello! What would you like to know?") and "virtual assistant" not in again, again
    home = shown(ask(stack, "/greet"))
    assert "MISM" in home and "MSIT" in home and "You're on the" not in home


@pytest.mark.parametrize(
    "question, topic, missing",
    [
        ("what is the minimum gpa for mism", "requirements", "a minimum GPA or grade average"),
        ("is a 3 year bachelor degree accepted for MISM?", "requirements", "a rule on three-year bachelor's degrees"),
        ("what's the average salary after MISM?", "careers", "salary figures"),
    ],
)
def test_a_detail_no_page_states_is_named_as_missing_with_the_topics_answer(stack, knowledge, question, topic, missing):
    replies = ask(stack, question)
    assert headings(knowledge, replies)[0] == topic, shown(replies)
    assert f"Not in my information: {missing} for MISM." in shown(replies)


@pytest.mark.parametrize(
    "question, topic, missing",
    [
        ("how many courses per semester", "program_length", "the course load (how many courses or units a semester)"),
        (
            "how do I convert my CGPA to a 4.0 scale",
            "requirements",
            "how a grade average on another scale (such as a 10-point CGPA) is converted or read",
        ),
    ],
)
def test_a_detail_asked_on_a_programs_page_is_named_as_missing(stack, knowledge, question, topic, missing):
    """A tryout's "how many courses per semester" got suggestions, and a 10-point CGPA to convert got
    "not sure I understood": the topic's answer now comes first, after what it does not say."""
    replies = ask(stack, question, program="mism")
    assert headings(knowledge, replies)[0] == topic, shown(replies)
    gaps = [line for line in shown(replies).split("\n") if line.startswith("Not in my information: ")]
    assert gaps and missing in gaps[0] and " for MISM." in gaps[0], shown(replies)


def test_a_clicked_suggestion_names_the_detail_the_typed_question_asked(stack, knowledge):
    """ "which companies come" is unsure, and Careers is offered; clicking it gave the outcome figures
    as if they answered it. The click now answers the typed words: which employers is not known."""
    sender = f"click-{uuid.uuid4()}"
    replies = ask(stack, "which companies come", program="mism", sender=sender)
    offered = {b["title"]: b["payload"] for r in replies for b in r.get("buttons") or []}
    careers = knowledge.topics["careers"]
    assert careers.title in offered, shown(replies)
    replies = ask(stack, offered[careers.title], program="mism", sender=sender)
    assert headings(knowledge, replies)[0] == "careers", shown(replies)
    assert "Not in my information: which employers hire graduates for MISM." in shown(replies), shown(replies)


def test_a_follow_up_about_the_city_is_not_answered_with_the_topic(stack, knowledge):
    """ "and the weather?" after the deadlines got the deadlines again (read as "inform")."""
    sender = f"follow-{uuid.uuid4()}"
    ask(stack, "what are the deadlines?", program="mism", sender=sender)
    replies = ask(stack, "and the weather?", program="mism", sender=sender)
    assert not [t for t in headings(knowledge, replies) if t], shown(replies)
    assert "outside what I can help with" in shown(replies)
    assert knowledge.topics["deadlines"].title not in buttons(replies)


@pytest.mark.parametrize("complaint", ["that's not what I asked", "not helpful", "wrong answer"])
def test_a_typed_complaint_after_an_answer_gets_the_contact_not_no_problem(stack, knowledge, complaint):
    """Typed "not helpful" used to be read as "no" and got "No problem. If anything else comes up…"."""
    sender = f"complain-{uuid.uuid4()}"
    assert headings(knowledge, ask(stack, "what's the application fee?", program="mism", sender=sender))[0] == (
        "application_fee"
    )
    replies = ask(stack, complaint, program="mism", sender=sender)
    text = shown(replies)
    assert "No problem" not in text and knowledge.contact.email in text, text
    assert "what were you looking for" in text
    assert not [t for t in headings(knowledge, replies) if t], "the answer is not repeated"


@pytest.mark.parametrize("page", [None, "mism"])
def test_a_question_about_another_degree_gets_the_contact_not_our_answer(stack, knowledge, page):
    """ "Does the MBA need the GMAT?" used to get MISM's test-score rules, which read as the MBA's."""
    replies = ask(stack, "Does the MBA need the GMAT?", program=page)
    text = shown(replies)
    assert not [t for t in headings(knowledge, replies) if t], text
    assert "can't tell you about the MBA" in text and knowledge.contact.email in text
    assert knowledge.topics["test_scores"].title in buttons(replies), "the same topic is offered for ours"


def test_another_degree_as_the_visitors_own_still_gets_our_answer(stack, knowledge):
    replies = ask(stack, "I already have an MBA, do I still need the GRE?", program="mism")
    assert headings(knowledge, replies)[0] == "test_scores", shown(replies)


def test_another_degree_put_to_our_rules_gets_our_answer(stack, knowledge):
    """A tryout's visitor was told "I can't tell you about the MBA" for both of these."""
    replies = ask(stack, "is an MBA enough to skip gre", program="msit")
    assert headings(knowledge, replies)[0] == "test_scores", shown(replies)
    sender = f"follow-{uuid.uuid4()}"
    ask(stack, "i have a masters in computer science from 2019, do i need to take gre for msit", "msit", sender)
    replies = ask(stack, "what if its an MBA instead", program="msit", sender=sender)
    assert "can't tell you about" not in shown(replies), shown(replies)
    assert headings(knowledge, replies)[0] == "test_scores" or knowledge.topics["test_scores"].title in buttons(
        replies
    ), shown(replies)


def test_start_dates_are_answered_not_the_deadline_list(stack, knowledge):
    """A tryout's "when does the program start" and "can i start mism in january?" got the deadlines."""
    replies = ask(stack, "when does the program start", program="msit")
    assert headings(knowledge, replies)[0] == "start_dates" and "early January" in shown(replies), shown(replies)
    # "When do classes begin?" was a deadlines example in the training data: now a start date.
    replies = ask(stack, "when do classes begin")
    assert headings(knowledge, replies)[0] == "start_dates", shown(replies)
    replies = ask(stack, "can i start mism in january?")
    assert headings(knowledge, replies)[0] == "start_dates", shown(replies)
    assert "in August and in May" in shown(replies) and "Round 1" not in shown(replies), shown(replies)


def test_a_complaint_that_says_what_was_wanted_gets_it(stack, knowledge):
    sender = f"complain-{uuid.uuid4()}"
    ask(stack, "what's the application deadline?", "mism", sender)
    replies = ask(stack, "thats not what i asked, i wanted the start date", "mism", sender)
    assert replies[0]["text"].startswith("Sorry about that"), shown(replies)
    assert headings(knowledge, replies)[1:2] == ["start_dates"], shown(replies)


def test_how_much_is_that_after_the_deposit_is_the_deposit(stack, knowledge):
    sender = f"deposit-{uuid.uuid4()}"
    ask(stack, "is there an enrollment deposit?", "msit", sender)
    replies = ask(stack, "how much is that", "msit", sender)
    assert headings(knowledge, replies)[0] == "deposit" and "$500" in shown(replies), shown(replies)


def test_when_is_it_due_after_the_deposit_says_the_due_date_is_not_known(stack, knowledge):
    sender = f"deposit-{uuid.uuid4()}"
    ask(stack, "how much is the deposit", "msit", sender)
    replies = ask(stack, "when is it due", "msit", sender)
    assert headings(knowledge, replies)[0] == "deposit", shown(replies)
    assert "when the deposit is due" in shown(replies) and knowledge.contact.email in shown(replies), shown(replies)


def test_a_pasted_message_longer_than_read_says_so(stack, knowledge):
    story = "I have been working in logistics for years and want to move into information systems. " * 20
    replies = ask(stack, "When is the MISM application deadline? " + story, program="mism")
    assert "read only its first 1,000 characters" in replies[0]["text"], shown(replies)
    # Then the reply to what was read: the deadlines, or (the long story dilutes it) the deadlines offered.
    deadlines = knowledge.topics["deadlines"]
    assert headings(knowledge, replies)[1] == "deadlines" or deadlines.title in buttons(replies), shown(replies)
