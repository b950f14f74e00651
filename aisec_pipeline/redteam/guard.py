"""An example hardened target: an input/output filter in front of an OpenAI-compatible model.

Registered as the built-in target `aisec.guard` (registry: `endpoint: {type: registered,
target: aisec.guard}`), with the upstream in `AISEC_GUARD_BASE_URL` and `AISEC_GUARD_MODEL`. It refuses inputs that carry injection
phrasing (in the battery's languages), hidden Unicode tag characters or long encoded blobs,
and withholds answers that reveal a code-like token of the system prompt in any encoding.

Honest scope: the input patterns were written knowing the battery's phrasing. It shows that the
gate can pass a hardened deployment and what a filter costs; it is not evidence that keyword
filtering stops a motivated attacker (paraphrases and new languages walk past it).
"""

from __future__ import annotations

import os
import re

from .canary import leaked
from .target import Target

REFUSAL = "I can only help with questions about our products and services."
_INJECTION = re.compile("|".join([
    r"ignore\s+(all|any|the)?\s*(previous|prior|above|following)", r"disregard", r"forget\s+",
    r"system\s*prompt", r"instructions?", r"repeat\s+everything", r"access\s+code", r"\bcode\b",
    r"base64|rot13|hexadecimal|backwards|spell\s+out", r"stop\s+everything", r"\bjust\s+print\b",
    r"忽略|指令|系统提示|無視|指示|무시|지시|تجاهل|التعليمات|התעלם|ההוראות|игнорир|инструкц",
    r"αγνόησε|οδηγίες|εντολή|अनदेखा|निर्देश|भूल\s*जाओ|ignora|instrucciones|ignoriere|anweisungen",
    r"yok\s+say|talimat|puuza|maagizo",
]), re.IGNORECASE)
_TAG_CHARACTERS = re.compile("[\U000E0000-\U000E007F]")
_ENCODED_BLOB = re.compile(r"[A-Za-z0-9+/=]{24,}")
_CODE_LIKE = re.compile(r"\b(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{8,}\b")


def suspicious(user_message: str) -> bool:
    return bool(_INJECTION.search(user_message) or _TAG_CHARACTERS.search(user_message)
                or _ENCODED_BLOB.search(user_message))


def reveals_secret(answer: str, system_prompt: str) -> bool:
    return any(leaked(answer, token) for token in _CODE_LIKE.findall(system_prompt))


def answer(system_prompt: str, user_message: str) -> str:
    if suspicious(user_message):
        return REFUSAL
    upstream = Target("openai", system_prompt, base_url=os.environ["AISEC_GUARD_BASE_URL"],
                      model=os.environ.get("AISEC_GUARD_MODEL", "smollm2"))
    reply = upstream.complete(user_message, max_tokens=int(os.environ.get("AISEC_GUARD_MAX_TOKENS",
                                                                          "150")))
    return REFUSAL if reveals_secret(reply, system_prompt) else reply
