"""Bytes to text (`decode_bytes`), for bodies, RFC 2047 words and file names alike: the label's
codec if it fits (`charset_labels.codec`), UTF-8 where the label cannot be right, the Latin or
Cyrillic reading its words fit for undeclared text, detection where nothing fits.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import unicodedata

import charset_normalizer

from gateway.charset_labels import codec

__all__ = ["codec", "decode_bytes"]

# the escape sequences that switch an ISO-2022 text into its double-byte sets: JIS X 0208 ("ESC $ B",
# "ESC $ @"), JIS X 0212 ("ESC $ ( D"), and KS X 1001 for Korean ("ESC $ ) C")
_ISO_2022_JP = re.compile(rb"\x1b\$[@B]|\x1b\$\(D")
_ISO_2022_KR = b"\x1b$)C"


def _iso_2022(data: bytes) -> str | None:
    """`data` read as ISO-2022-JP (its JIS X 0212 superset) or ISO-2022-KR when it switches into one."""
    charset = "iso2022_jp_2" if _ISO_2022_JP.search(data) else "iso2022_kr" if _ISO_2022_KR in data else None
    if charset is None:
        return None
    try:
        return data.decode(charset)
    except ValueError:
        return None


def _utf_16_order(data: bytes) -> str:
    """UTF-16 without its byte-order mark, big-endian as RFC 2781 says, unless the zero bytes of its
    ASCII letters stand second, as Windows writes them."""
    even, odd = data[0::2].count(0), data[1::2].count(0)
    return "utf-16-le" if odd > even else "utf-16-be"


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Bytes to text: the declared charset if it fits, else UTF-8, else the best detected guess.
    Under a single-byte label (US-ASCII, ISO-8859-1, Windows-1252, KOI8-R…), bytes that
    are UTF-8 with a multi-byte character in them are UTF-8: the label always fits, and
    Latin or Cyrillic text is next to never valid UTF-8 by chance ("SchÃ¶n" is "Schön").

    The declared label goes through `charsets.codec` ("windows-874", "x-mac-roman"
    and the like; Windows-1252 for ISO-8859-1, then ISO-8859-1 itself).
    Detection is weak on a short text: it never answers UTF-16 or UTF-32 for
    bytes without their byte-order mark (any 8-bit line would come out as CJK
    characters); among its best guesses the Windows code pages mail uses most
    win. So text with no charset that reads as Latin or Cyrillic words is taken so before
    detection is asked (`_latin`, `_cyrillic`; "A\\xf1o" is "Año", not "A隳"), and `_latin`
    decides again when detection offers none of those code pages. An ISO-8859
    reading with C1 controls in it is a wrong label: Japanese or Chinese text
    that detection finds is taken instead. UTF-8 with a few stray bytes is still
    UTF-8 (`_mostly_utf_8`). 8-bit bytes under US-ASCII are read as under no label:
    its superset, Windows-1252, read Big5 as Latin mojibake.
    """
    controls = None
    labels: tuple[str | None, ...] = (codec(declared), codec(declared, superset=False), "utf-8")
    if labels[1] == "ascii" and not data.isascii():
        labels = (None, None, "utf-8")  # a label that cannot be right (8-bit bytes): as no label
    if labels[1] == "utf-16" and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        labels = (_utf_16_order(data), *labels)  # no byte-order mark: the zero bytes of Latin letters tell
    if labels[1] in (None, "ascii") and b"\x1b" in data:
        seven_bit = _iso_2022(data)  # Japanese mail sent with no label: 7-bit, so UTF-8 and ASCII "fit"
        if seven_bit is not None:
            return seven_bit
    if labels[1] and labels[1].startswith(_SINGLE_BYTE) and _is_utf_8(data):
        labels = ("utf-8", *labels)  # a mailer's default label on text it wrote in UTF-8
    for charset in dict.fromkeys(labels):  # each once
        if not charset:
            continue
        try:
            text = data.decode(charset)
        except ValueError:  # undecodable
            continue
        if charset == "cp1252" and LATIN_RUN.search(text):
            cyrillic = _cyrillic(data)  # "Ïðèâåò": Windows-1251 under a Western label, as Outlook sends it
            if cyrillic is not None:
                return cyrillic
        if not charset.startswith("iso8859") or not _C1_CONTROL.search(text):
            return text
        sibling = _WINDOWS_SIBLING.get(charset)
        if sibling is not None:  # no ISO-8859 text has C1 controls; its Windows sibling's letters sit there
            with contextlib.suppress(ValueError):
                return data.decode(sibling)
        controls = controls if controls is not None else text
    if controls is None and labels[0] in (None, "utf-8"):
        mostly = _mostly_utf_8(data)
        if mostly is not None:
            return mostly
        script = _latin(data) or _cyrillic_or_hebrew(data)
        if script is not None:
            return script
    bom = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    wide = ("utf_16", "utf_32")
    candidates = [c for c in charset_normalizer.from_bytes(data) if bom or not c.encoding.startswith(wide)]
    if controls is not None:
        # the label's exact table read bytes its superset has no letter for (ISO-8859-1 on Shift_JIS text):
        # a multi-byte charset detection finds is the text; anything else, the label's reading stands
        cjk = [c for c in candidates if c.encoding.startswith(_MULTI_BYTE)]
        return str(min(cjk, key=lambda c: c.chaos)) if cjk else controls
    if candidates:
        least = min(c.chaos for c in candidates)
        best = {c.encoding: c for c in candidates if c.chaos == least}
        preferred = next((best[name] for name in _PREFERRED if name in best), None)
        if preferred is not None:
            return str(preferred)
        latin = _latin(data)
        return latin if latin is not None else str(next(iter(best.values())))
    return data.decode("cp1252", "replace")


# The code page Windows writes under an ISO-8859 label ("iso-8859-2" on Windows-1250 text, Outlook's
# habit): its letters where the ISO table has C1 controls ("Cze\x9c\u0107" is "Cześć")
_WINDOWS_SIBLING = {
    "iso8859-2": "cp1250",
    "iso8859-4": "cp1257",
    "iso8859-13": "cp1257",
    "iso8859-5": "cp1251",
    "iso8859-6": "cp1256",
    "iso8859-7": "cp1253",
    "iso8859-8": "cp1255",
}
# five accented letters in a row: no Western language writes that, Cyrillic read as Windows-1252 does
LATIN_RUN = re.compile("[\u00c0-\u00ff]{5}")
# Codecs that decode one byte to one character: under their labels, valid UTF-8 is a wrong label
_SINGLE_BYTE = ("ascii", "iso8859", "cp125", "cp874", "tis-620", "koi8", "mac-", "cp437", "cp85", "cp86")


def _is_utf_8(data: bytes) -> bool:
    """True when `data` holds 8-bit bytes and all of them make UTF-8 characters."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except ValueError:
        return False
    return True


# A stray byte per this many characters past ASCII that read as UTF-8, at most, in text that is UTF-8
UTF_8_PER_STRAY = 1


def _mostly_utf_8(data: bytes) -> str | None:
    """UTF-8 with its stray bytes mended, when the rest of the 8-bit bytes read as UTF-8.

    One broken byte (a cut multi-byte character, a Latin-1 byte pasted in) made the whole
    text fail, and detection then read all of it as a single-byte charset: Cyrillic came out
    as "Ð—Ð´Ñ€". Text in a single-byte charset has almost no valid UTF-8 sequence in it.
    Stray bytes among Latin letters are Windows-1252's (a footer or a quote pasted from
    Latin-1 mail: "– été"); a cut character, or a stray byte among mostly other scripts'
    letters, is a mark.
    """
    text = data.decode("utf-8", "surrogateescape")
    stray = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    sequences = sum(1 for ch in text if ch >= "\x80") - stray
    if not stray or sequences < UTF_8_PER_STRAY * stray:
        return None
    return _STRAY.sub(_mended, text)


_STRAY = re.compile("[\udc80-\udcff]+")  # the bytes UTF-8 could not read, as surrogateescape keeps them


def _mended(stray: re.Match[str]) -> str:
    run = bytes(ord(ch) - 0xDC00 for ch in stray.group())
    if len(run) > 1 and 0xC2 <= run[0] <= 0xF4 and all(0x80 <= b <= 0xBF for b in run[1:]):
        return "\ufffd"  # a character cut short
    text = stray.string
    around = [ch for ch in text[max(stray.start() - 20, 0) : stray.end() + 20] if ch.isalpha()]
    others = sum(1 for ch in around if not ch.isascii() and not _is_latin(ch))
    try:
        latin = run.decode("cp1252")
    except ValueError:
        return "\ufffd" * len(run)
    if all(_is_latin(ch) for ch in latin) and others * 2 < len(around):
        return latin
    return "\ufffd" * len(run)  # among another script's letters: a byte of a character of theirs


def _is_latin(ch: str) -> bool:
    return ch in _LATIN_SIGNS or unicodedata.name(ch, "").startswith("LATIN")


# C1 controls: no text has them; an ISO-8859 table gives them for bytes it has no letter for
_C1_CONTROL = re.compile("[\x80-\x9f]")
_MULTI_BYTE = ("cp932", "shift_jis", "euc_jp", "iso2022_jp", "gb", "big5", "cp949", "euc_kr", "iso2022_kr")
_PREFERRED = ("cp1252", "cp1250", "cp1251")  # the commonest undeclared charsets in mail, Western first
# The letters past ASCII each language writes: Western European ones in Windows-1252, Central
# European ones in Windows-1250. The two tables share most accented letters and differ in the rest.
_WESTERN = ("àâæçéèêëîïôœùûüÿ", "áéíñóúü", "ãõáâàçéêíóôú", "àèéìíîòóùú", "äöüß", "åäöæøéü", "áðéíóúýþæö", "àçèéíïòóúü")
_CENTRAL = ("ąćęłńóśźż", "áčďéěíňóřšťúůýž", "áäčďéíĺľňóôŕšťúýž", "áéíóöőúüű", "čćđšžäöüß", "ăâîșțşţ")
_TURKISH = "çğıöşüâîû"
_MISPLACED_WESTERN = re.compile(r"(?<=[^\W\d_])(?:[ñÑ](?![aeiouáéíóúAEIOUÁÉÍÓÚ])|[õÕ](?![aeosAEOS])|[œŒ](?![uilUIL]))")
_WORD = re.compile(r"[^\W\d_]+")
_ASCII_LETTER = re.compile("[A-Za-z]")
_COMMON_CYRILLIC = frozenset("оеаинтсрвлкмдпуяыь")  # four in five letters of Russian text
_CYRILLIC_SIGNS = frozenset("«»–—“”„’…№\xa0")
_LATIN_SIGNS = frozenset("€‚„…†‡ˆ‰‹‘’“”•–—˜™›¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿×÷\xa0")


def _latin(data: bytes) -> str | None:
    """`data` in Windows-1252 or Windows-1250 when either reads as Latin-script text
    (`_latin_reading`); of two such readings, Windows-1250 only when its letters are
    more one language's than Windows-1252's are (`_fit`), or Windows-1252's put a letter
    where its languages never do, after a letter: Spanish "ñ" before a consonant ("Gdañsk" is "Gdańsk"),
    Portuguese "õ" ending a word ("Gergõ" is Hungarian "Gergő"), French "œ" before a
    consonant ("Wiœniewska" is "Wiśniewska"). Windows-1254 is Windows-1252 with Turkish's
    letters in place of Icelandic's: it wins when its letters fit Turkish better still.

    Detection guesses badly on a short undeclared text: "Müller" came out Cyrillic
    ("Mьller"), "Štěpán" as Chinese characters, and with Windows-1250 and -1252 both
    fitting, either half of Europe read mojibake ("Perché č cosě", "Dziêkujê").
    """
    western, central = (_latin_reading(data, charset, run) for charset, run in (("cp1252", 2), ("cp1250", 4)))
    if western is None or central is None:
        return western if central is None else central
    misplaced = len(_MISPLACED_WESTERN.findall(western)) / max(len(_WORD.findall(western)), 1)
    western_fit, central_fit = _fit(western, _WESTERN) - misplaced, _fit(central, _CENTRAL)
    # a tie is Western, the commoner
    best, score = (central, central_fit) if central_fit > western_fit else (western, western_fit)
    turkish = _latin_reading(data, "cp1254", 2)
    return turkish if turkish is not None and _fit(turkish, (_TURKISH,)) > score else best


def _cyrillic(data: bytes) -> str | None:
    """`data` in Windows-1251 or KOI8-R when either reads as Russian, Ukrainian or Bulgarian text:
    every character past ASCII a Cyrillic letter or common punctuation, no word mixing Cyrillic
    and ASCII letters, some lowercase and no capital after a small letter in a word. The two
    tables hold the same letters in another order, so the reading with more of the letters
    these languages write most wins. KOI8-U is KOI8-R with Ukrainian's letters in place of
    box-drawing signs.

    Detection read short Cyrillic as Chinese characters ("Привет" as "砎魤殣"), and
    KOI8-R whole paragraphs.
    """
    readings = []
    for charset in ("cp1251", "koi8_u"):
        try:
            text = data.decode(charset)
        except ValueError:
            continue
        if all(ch < "\x80" or ch in _CYRILLIC_SIGNS or "\u0400" <= ch <= "\u04ff" for ch in text):
            words = [word for word in _WORD.findall(text) if not word.isascii()]
            small = any(ch.islower() for word in words for ch in word)
            if small and not any(_ASCII_LETTER.search(word) or _capital_inside(word) for word in words):
                readings.append((sum(ch in _COMMON_CYRILLIC for word in words for ch in word.lower()), text))
    return max(readings, key=lambda reading: reading[0])[1] if readings else None


def _cyrillic_or_hebrew(data: bytes) -> str | None:
    """`_cyrillic`'s reading, or Windows-1255's when that is all Hebrew letters whose commonest
    are more of them than the Russian ones are of the Cyrillic reading's.

    Hebrew's letters sit where Windows-1251 has small Cyrillic ones, so unlabelled Hebrew read
    as Russian-looking words ("щмен" for "שלום") full of the letters Russian writes least
    (й, ш, щ, ъ); Russian words with "ы", "ь", "э", "ю" or "я", or a capital, have no Hebrew reading.
    """
    cyrillic = _cyrillic(data)
    try:
        hebrew = data.decode("cp1255")
    except ValueError:
        return cyrillic
    if not all(ch < "\x80" or ch in _HEBREW_SIGNS or "\u05d0" <= ch <= "\u05ea" for ch in hebrew):
        return cyrillic
    if cyrillic is None or _share(hebrew, _COMMON_HEBREW) > _share(cyrillic.lower(), _COMMON_CYRILLIC):
        return hebrew
    return cyrillic


def _share(text: str, common: frozenset[str]) -> float:
    letters = [ch for ch in text if ch >= "\x80" and ch.isalpha()]
    return sum(ch in common for ch in letters) / max(len(letters), 1)


_COMMON_HEBREW = frozenset("יוהלאמרתבנשם")  # seven in ten letters of Hebrew text
_HEBREW_SIGNS = frozenset("₪–—“”„’…\xa0")


def _capital_inside(word: str) -> bool:
    return any(a.islower() and b.isupper() for a, b in zip(word, word[1:], strict=False))


def _latin_reading(data: bytes, charset: str, longest_run: int) -> str | None:
    """`data` in `charset` when it reads as Latin-script text: every character past ASCII a Latin
    letter or a common sign, at most `longest_run` in a row (CJK, Cyrillic and Greek bytes read
    that way come out as long runs of accented letters; Polish writes four in a row, "żółć",
    Western languages two, "ção"), and a third of all letters or in words with ASCII letters
    ("Ça", "Jiří"; Cyrillic's "Да" read so is "Äà")."""
    try:
        text = data.decode(charset)
    except ValueError:
        return None
    run = beyond = letters = 0
    for ch in text:
        if ch < "\x80":
            run = 0
            letters += ch.isalpha()
            continue
        if not _is_latin(ch):
            return None
        run += 1
        beyond += 1
        letters += ch.isalpha()
        if run > longest_run:
            return None
    if beyond * 3 <= max(letters, 1):
        return text
    return text if all(_ASCII_LETTER.search(word) for word in _WORD.findall(text) if not word.isascii()) else None


def _fit(text: str, alphabets: tuple[str, ...]) -> float:
    """The largest share of `text`'s letters and in-word signs past ASCII ("b³o") that one
    language's alphabet has."""
    seen = []
    for i, ch in enumerate(text):
        if ch < "\x80":
            continue
        if ch.isalpha():
            seen.append(ch.lower())
        elif 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
            seen.append("")  # a sign inside a word: no language's letter
    if not seen:
        return 0.0
    return max(sum(ch in alphabet for ch in seen if ch) for alphabet in alphabets) / len(seen)
