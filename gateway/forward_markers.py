"""Unwrap step: the line a forward starts under, in the words of the languages Thunderbird ships
(`reply_headers` skips a forward under it as under every forward marker).

`reply_patterns.FORWARD_MARKER` knows the markers of most clients; Thunderbird writes its own
(`mailnews.forward_header_originalmessage` in its composeMsgs.properties, framed with dashes:
"-------- Перенаправленное сообщение --------"), and in 26 of its languages those words were in no
list, so such a forward was unwrapped only under a "Fwd:" subject. `is_forward_marker` reads both, and
`in_english` gives quotequail Thunderbird's English line in their place.
Thunderbird's Welsh forward line says "Neges Wreiddiol", its "original message", and stays one.

Thunderbird's Arabic reply header, "على 02/03/2026 18:01، كتب Bo Berg:" ("on <date> <time>, <name>
wrote:"), is `reply_patterns.ARABIC_ATTRIBUTION`, read only whole: كتب alone is also "books", and a line of
prose ("على الطاولة، كتب كثيرة:", "on the table, many books:") has no numeric date and time where the header
has them. `reply_headers` reads it as every reply header, over an ordinary quote as over a quoted forward.
"""

from __future__ import annotations

import re

from gateway import reply_patterns as P

# Each language's words, a space standing for any run of spaces; from thunderbird-l10n's
# mail/chrome/messenger/messengercompose/composeMsgs.properties
THUNDERBIRD_WORDS = (
    "перенаправленное сообщение",  # ru
    "перанакіраванае паведамленне",  # be
    "переслане повідомлення",  # uk
    "препратено писмо",  # bg
    "tin nhắn đã được chuyển tiếp",  # vi
    "iletilen ileti",  # tr ("İletilen İleti")
    "رسالة ممرّرة",  # ar
    "رسالة ممررة",  # ar, without the shadda
    "missatge reenviat",  # ca
    "mensaxe reenviada",  # gl
    "mensagem reencaminhada",  # pt-PT
    "dalej pósrědnjona powěsć",  # dsb
    "dale sposrědkowana powěsć",  # hsb
    "treść przekazanej wiadomości",  # pl
    "edastatud kiri",  # et
    "persiųstas laiškas",  # lt
    "posredovano sporočilo",  # sl
    "továbbított üzenet",  # hu
    "välitetty viesti / fwd.msg",  # fi
    "trochstjoerd berjocht",  # fy-NL
    "vidaresend melding",  # nn-NO
    "teachtaireacht ar aghaidh",  # ga-IE
    "an teachdaireachd a tha ’ga shìneadh air adhart",  # gd
    "an teachdaireachd a tha 'ga shìneadh air adhart",  # gd, with a plain apostrophe
    "mesazhi i përcjellë",  # sq
    "전달된 메시지",  # ko
    "转发的消息",  # zh-CN
    "轉寄郵件",  # zh-TW
)


def _words(phrase: str) -> str:
    return r"[ \t]+".join(re.escape(word) for word in phrase.split())


# Dashes (or "=", "_", "*") before the words, and after them if any: each run of spaces or dashes sits
# between literals and is possessive (never given back), so a long line cannot make it backtrack
THUNDERBIRD_MARKER = re.compile(
    r"^[ \t>]*+[-_=*]{2,}+[ \t]*+(?:"
    + "|".join(_words(w) for w in THUNDERBIRD_WORDS)
    + r")(?:[ \t]++[-_=*]{2,}+|[-_=*]{2,}+)?[ \t]*+$",
    re.IGNORECASE,
)


ARABIC_ATTRIBUTION = P.ARABIC_ATTRIBUTION  # a reply header too: reply_headers reads it


def is_arabic_attribution(line: str) -> bool:
    """True when `line` is Thunderbird's Arabic "on <date> <time>, <name> wrote:" header, its direction
    marks (which Arabic text carries around digits) left out."""
    return bool(ARABIC_ATTRIBUTION.match(P.BIDI_MARKS.sub("", line[: P.LINE_MAX_CHARS])))


def in_english(text: str) -> str:
    """`text` with Thunderbird's forward line in English ("-------- Forwarded Message --------", its quote
    kept), which quotequail reads: under a line it does not know it found the header block alone, and
    under a quote took the fields below "From:" for the forwarded text."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if THUNDERBIRD_MARKER.match(line[: P.LINE_MAX_CHARS]):
            quote = line[: len(line) - len(line.lstrip(" \t>"))]
            lines[i] = quote + "-------- Forwarded Message --------"
    return "\n".join(lines)


def is_forward_marker(line: str) -> bool:
    """True when `line` (at most `P.LINE_MAX_CHARS` of it is read) is a forward's marker."""
    line = line[: P.LINE_MAX_CHARS]
    return bool(P.FORWARD_MARKER.match(line) or THUNDERBIRD_MARKER.match(line))
