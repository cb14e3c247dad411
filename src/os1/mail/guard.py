"""Mail is data: sentences in a message that give orders to whoever reads it
(an AI, an assistant, "your response") are held back before the model sees
the message, and named instead ("it tells its reader to ...", without the
words), so a summary can say the email tries to instruct its reader but
cannot follow it.

The marks are kinds of prompt injection, not phrases of known attacks: an
address to an AI or to "whoever reads this"; an order about "your answer /
response / reply"; an order to ignore or override earlier instructions; and
an order, out of nowhere, to do a general task (translate, explain, write
code, draft an essay) that a person writing to a person would not give.
Nothing a sentence says can make it pass: the test is on its form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A sentence: up to . ! ? followed by a space (not the dot of "mail-archive.test"), or a line's end.
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s.!?]))+(?:[.!?]+[\"')\]]*|\n|$)")
#: Words that address an AI or the reader as a processor of the text.
_ADDRESS = re.compile(
    r"\b(?:(?:ai|a\.i\.|virtual|email|mail|digital)\s+assistants?|assistants?\b(?=\s*(?:[,:]|reading|that|who|"
    r"processing|summari[sz]ing))|chat ?bots?|language models?|llms?|gpt|claude|gemini|copilot|"
    r"(?:whoever|anyone|anybody|any ai|the ai|the bot|the model|the system) (?:that |who )?(?:reads|is reading|"
    r"processes|summari[sz]es|handles)|reading this (?:e-?mail|message)|(?:^|\n)\s*(?:ai|system|assistant)\s*:|"
    r"(?:to|dear|hey|attention|note to|for) (?:the |any |all )?(?:ai|assistant|bot|model|agent)s?\b|"
    r"(?:managing|running|handling|monitoring|processing) this (?:mailbox|inbox|account|e-?mail)|"
    r"system (?:notice|message|alert|override|instruction)|"
    # The person is "you" in a letter to them; only a message to a machine calls them "the user".
    r"\bthe user(?:'s)?\b)",
    re.IGNORECASE)
#: An order about the answer being written.
_YOUR_OUTPUT = re.compile(
    r"\b(?:in|to|into|within|throughout|for|of|from|with|at the (?:end|start|beginning) of) your "
    r"(?:answers?|responses?|replies|reply|outputs?|summary|summaries)\b|"
    r"\b(?:your|the) (?:answers?|responses?|outputs?|summary|reply) (?:should|must|has to|needs to|will)\b|"
    r"\b(?:respond|answer|reply|write|speak|output) (?:only )?(?:in|using|with) (?:french|spanish|german|"
    r"italian|chinese|japanese|emojis?|numbers|symbols|base64|code|all caps|uppercase|reverse)\b|"
    r"\bwhen (?:you )?(?:answer|respond|reply|summari[sz]e)\b|"
    r"\b(?:modify|augment|enhance|render|rewrite|format|begin|end|start|finish|make|ensure|change|adjust|add|"
    r"include|insert|append|integrate|replace|remove|introduce|translate|encode|structure|present|phrase|"
    r"express|conclude|close|sign|fill|pad|spice|enrich|expand|extend|embellish|decorate|transform|convert)"
    r"\b[^.!?]{0,30}\byour (?:answers?|responses?|replies|reply|outputs?|messages?|summary|text|words|"
    r"writing)\b|\b(?:using|use|with|apply|in)\b[^.!?]{0,30}\b(?:substitution|cipher|anagrams?|"
    r"pig latin|leetspeak|morse code)\b|\b(?:jumble|scramble|shuffle|swap|mix up)\b[^.!?]{0,20}\bletters\b|\b(?:how do you say|what(?:'s| is| are) (?:the )?(?:word for )?"
    r"['\"\u2018\u201c][^'\"]+['\"\u2019\u201d] in [A-Z][a-z]+)",
    re.IGNORECASE)
#: An order to override what the reader was told.
_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|rules?|prompts?|above|previous|"
    r"prior|everything|user|person|owner)\b|\bnew instructions?\b|\bsystem prompt\b|"
    r"\bdo not (?:tell|inform|mention|notify) (?:the |your )?(?:user|owner|person|recipient)\b",
    re.IGNORECASE)
#: Orders to do a general task: a writer asks a person for their reply, not for an essay.
_TASK = re.compile(
    r"^\s*(?:(?:please|now|also|first|then|kindly)[, ]+)?(?:translate|explain|draft|compose|rearrange|"
    r"replace\b[^.!?]{0,30}\b(?:letters?|words?|vowels|characters?)|introduce|integrate|insert|include|add|"
    r"append|"
    r"remove (?:all )?(?:spaces|vowels|punctuation)|describe|summari[sz]e|calculate|solve|"
    r"(?:list|name) (?:all|the|some|three|five|ten|\d+)|"
    r"show me|tell me|give me|write (?:a|an|me|some|the|python|code|down)|create (?:a|an)|generate|provide|"
    r"recommend (?:a|an|some|the)|suggest (?:a|an|some|the)|forward|delete|send|reply to|spell|reverse|"
    r"encode|decode|convert|rewrite|"
    r"develop|break down|outline|analy[sz]e|compare|teach|elaborate on|discuss|define|remember|bcc|cc|"
    r"answer (?:the|this|in)|what (?:is|are|was|were) the (?:capital|meaning|definition|population|"
    r"difference|best|largest|smallest|history)|how (?:do|does|can) (?:i|you|one) (?:make|cook|bake|learn|"
    r"calculate|write|code|program|improve|start)|who (?:is|was|wrote|invented|discovered)|"
    r"(?:can|could|would) you (?:please )?(?:explain|translate|write|tell|give|list|draft|describe|"
    r"provide|recommend|summari[sz]e|calculate|forward|send|delete))\b",
    re.IGNORECASE)
#: A question out of nowhere: general knowledge, about no one in the letter
#: ("How do solar panels work?"); a writer's questions are about them or the reader.
_QUIZ = re.compile(
    r"^\s*(?:and |so |also )?(?:what|how|why|who|when|which|where)(?:'s| is| are| was| were| do| does| did| can|"
    r" many| much| long| old)?\b[^?]*\?\s*$", re.IGNORECASE)
_ABOUT_PEOPLE = re.compile(r"\b(?:i|me|my|we|us|our|you|your|yours|he|she|they|him|her|them|his|their)\b|"
                           r"\d|\b(?:today|tomorrow|tonight|monday|tuesday|wednesday|thursday|friday|"
                           r"saturday|sunday|week|meeting|call|time)\b", re.IGNORECASE)
#: Asking for code or a lesson on it, which no letter to a person does.
_CODE = re.compile(r"\b(?:show|write|give|send|provide|create)\b[^.!?]{0,25}\b(?:python|javascript|java|sql|"
                   r"c\+\+)?\s*(?:function|snippet|script|program|code) (?:to|that|for|which)\b|"
                   r"\bdifferences? between (?:python|java|c\+\+|html|sql)", re.IGNORECASE)
#: Task orders that do belong in a letter between people (they name the writer or the reader's part).
_PERSONAL = re.compile(r"\b(?:me|us|our|my|we|i)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Guarded:
    text: str      # the message with orders held back
    held: int      # how many sentences were held back
    gist: str      # what they try, in os1's words ("" when none)


def guard(text: str) -> Guarded:
    """``text`` with every sentence that orders its reader replaced by a
    marker; ``gist`` names what they tried without their words."""
    kept: list[str] = []
    kinds: list[str] = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0)
        kind = _order(sentence)
        if kind:
            kinds.append(kind)
            kept.append("[held back by os1: an instruction to whoever reads this email]"
                        + ("\n" if sentence.endswith("\n") else " "))
        else:
            kept.append(sentence)
    held = len(kinds)
    if not held:
        return Guarded(text, 0, "")
    gist = ", ".join(dict.fromkeys(kinds))
    return Guarded("".join(kept).strip(), held, f"it tries to instruct whoever reads it ({gist})")


def _order(sentence: str) -> str:
    s = sentence.strip()
    if len(s) < 6:
        return ""
    if _OVERRIDE.search(s):
        return "to override their instructions"
    if _ADDRESS.search(s):
        return "addressed to an AI assistant"
    if _YOUR_OUTPUT.search(s):
        return "to change how the answer is written"
    if _CODE.search(s):
        return "to do an unrelated task"
    if _QUIZ.match(s) and not _ABOUT_PEOPLE.search(s):
        return "to answer an unrelated question"
    task = _TASK.search(s)
    if task and not _PERSONAL.search(s[task.end():task.end() + 60]):
        return "to do an unrelated task"
    return ""
