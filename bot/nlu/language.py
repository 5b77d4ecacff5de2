"""Which language a visitor writes in: English, or another one (answers are in English only).

Two cheap signals, no model: the script of the letters (Han, Devanagari, Hangul, Arabic, ...), and,
for languages written in Latin letters, their common words and the marks English never uses ("¿",
"ğ"). A message mixing a few English words into another language ("MISM需要GRE吗") counts as that
language; an English one with a name or a loanword in it ("Peña", "résumé") stays English.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict

ENGLISH = "en"
LATIN_END = 0x250  # Basic Latin to Latin Extended-B
# Unicode script name prefixes -> ISO 639-1 code of the language most visitors write in it.
SCRIPTS: Dict[str, str] = {
    "CJK": "zh",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "HANGUL": "ko",
    "DEVANAGARI": "hi",
    "BENGALI": "bn",
    "TAMIL": "ta",
    "TELUGU": "te",
    "GUJARATI": "gu",
    "GURMUKHI": "pa",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
    "ARABIC": "ar",
    "HEBREW": "he",
    "CYRILLIC": "ru",
    "GREEK": "el",
    "THAI": "th",
}
# Frequent words that are not English words, per language (a message needs two, or one and a mark).
WORDS: Dict[str, frozenset] = {
    "es": frozenset(
        "el la los las del que qué para por cuánto cuanto cuánta cuántas cuántos cuesta es una un de en con "
        "se su al lo y necesito puedo puede cómo como cuál cual maestría posgrado programa requisitos hay "
        "tiene sobre donde dónde trabajar estudiar estudiante beca becas aplicar solicitud".split()
    ),
    "pt": frozenset(
        "o os do da dos das que para por quanto custa é uma um de em preciso posso pode como qual "
        "mestrado programa requisitos tem sobre onde não você trabalhar estudante visto eua bolsa quando nota "
        "mínima universidade faço fazer mensalidade".split()
    ),
    "fr": frozenset(
        "le la les des du de en un une à au aux que pour combien coûte est je puis comment quand quel "
        "quelle maîtrise programme exigences il y a sur où est-ce faut postuler faire ça par commencer "
        "chercher états unis étudiant bourse quelles sont".split()
    ),
    "de": frozenset(
        "der die das den dem und ist wie viel kostet ich brauche kann ein eine für welche warum studium "
        "masterstudium programm voraussetzungen gibt es wo im mit sind bis wann muss mich darf neben "
        "lange dauert".split()
    ),
    "it": frozenset(
        "il lo gli di che per quanto costa è un una come posso laurea magistrale requisiti dove sono ci "
        "serve fare faccio domanda lavorare mentre scadenza".split()
    ),
    "tr": frozenset(
        "mi mı mu mü misiniz miyim nasıl için bir bu gerekli kadar var acaba burs eğitim dil yabancı "
        "yüksek lisans ücret nelerdir kaç zaman".split()
    ),
    "vi": frozenset("của và là có không cho tôi bao nhiêu học chương trình thạc sĩ được để gì khi nào cần làm".split()),
    "id": frozenset("apa berapa biaya saya bisa untuk dan yang program syarat kuliah apakah".split()),
}
# Marks English never uses: one counts as one word of that language ("¿CÓMO APLICAR?"). A name with
# one ("Peña") is not enough alone.
MARKS: Dict[str, frozenset] = {
    "es": frozenset("¿¡ñ"),
    "pt": frozenset("ãõ"),
    "tr": frozenset("ğşı"),
    "de": frozenset("ß"),
    "vi": frozenset("đơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"),
}
ENGLISH_WORDS = frozenset(
    "the a an is are do does how what when where which who can i my to of for in on and or it this that "
    "program programs degree apply application deadline tuition cost as die be was with "
    "me we you your have has at by from if not so will there get any all about more one some just like also "
    "but out up he she they them am us our did been would should could after before".split()
)
# Each language's words that are not English words too ("do", "a", "die" count for neither).
OWN_WORDS: Dict[str, frozenset] = {code: words - ENGLISH_WORDS for code, words in WORDS.items()}
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def script_language(text: str) -> str:
    """The language a non-Latin script points to, or ``en`` when the letters are Latin."""
    counts: Dict[str, int] = {}
    letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        if ord(char) < LATIN_END:
            continue  # Latin letters (most messages): no name lookup
        name = unicodedata.name(char, "")
        for prefix, code in SCRIPTS.items():
            if name.startswith(prefix):
                counts[code] = counts.get(code, 0) + 1
                break
    if not counts:
        return ENGLISH
    code, count = max(counts.items(), key=lambda item: item[1])
    # Han characters with kana are Japanese; a few non-Latin letters in English text are not enough.
    if code == "zh" and counts.get("ja"):
        code = "ja"
    return code if count >= 2 or count * 3 >= letters else ENGLISH


def language_of(text: str) -> str:
    """``en`` for English, else the ISO 639-1 code of the language the message is written in."""
    by_script = script_language(text)
    if by_script != ENGLISH:
        return by_script
    lowered = text.lower()
    words = WORD.findall(lowered)
    if not words:
        return ENGLISH
    english = sum(word in ENGLISH_WORDS for word in words)
    letters = set(lowered)
    best, hits = ENGLISH, 0
    for code, vocabulary in OWN_WORDS.items():
        found = sum(word in vocabulary for word in words)
        found += not letters.isdisjoint(MARKS.get(code, ()))
        if found > hits:
            best, hits = code, found
    return best if hits >= 2 and hits > english else ENGLISH
