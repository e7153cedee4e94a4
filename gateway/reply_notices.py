"""The notices no author writes under a message, for the signature split (`reply_signature`).

Legal disclaimers (in the languages reply headers are read in), virus-scan and
"consider the environment" lines, company register lines, services' notification
footers. Each form is written beside a word every match of it holds, so a
paragraph holding none is not searched at all (`may_be_notice`): the searches
run on every message's last paragraphs.
"""

from __future__ import annotations

import re

# A legal notice (long: an author's "keep this confidential" is a sentence, not a paragraph of
# terms): its "confidential", "intended recipient" or "received this message in error" ...
_LEGAL_FORMS = (
    ("confiden", r"confidential|confidenti(?:el|elle)s?|confidencia(?:l|les|is)|confidenzial[ei]"),
    ("intended", r"intended\s+recipient"),
    ("privileged", r"legally\s+privileged"),
    ("error", r"received\s+this\s+(?:e-?mail|message)\s+in\s+error"),
    ("guaranteed", r"cannot\s+be\s+guaranteed\s+to\s+be\s+secure"),
    # German
    ("vertraulich", r"vertraulich\w*"),
    ("rechtlich", r"rechtlich\s+geschützt\w*"),
    ("irrtümlich", r"irrtümlich\s+erhalten"),
    ("nicht", r"nicht\s+der\s+(?:richtige|beabsichtigte|vorgesehene)\s+(?:adressat|empfänger)"),
    # French
    ("erreur", r"reçu\s+(?:ce|cet)\s+(?:message|courriel|e-?mail)\s+par\s+erreur"),
    ("exclusive", r"à\s+l['’]intention\s+exclusive"),
    # Spanish and Portuguese
    ("error", r"recibido\s+(?:este|esta)\s+(?:mensaje|correo|comunicación|e-?mail)\s+por\s+error"),
    ("recebeu", r"recebeu\s+(?:esta|este)\s+(?:mensagem|e-?mail|comunicação)\s+por\s+(?:engano|erro)"),
    # Italian
    ("informazioni", r"informazioni\b[^.]{0,100}\briservat[eio]"),
    ("errore", r"(?:pervenut|ricevut)[oa]\s+per\s+errore"),
    ("esclusivamente", r"destinat[aeio]\s+esclusivamente"),
    # Dutch
    ("vertrouwelijk", r"vertrouwelijk\w*"),
    ("onrechte", r"ten\s+onrechte\s+(?:ontvangen|bereikt)"),
    ("uitsluitend", r"uitsluitend\s+bestemd\s+voor"),
    # Swedish, Danish and Norwegian
    ("konfidentiell", r"konfidentiell\w*"),
    ("misstag", r"(?:fått|mottagit)\s+(?:detta|det\s+här)\s+(?:meddelande|e-?post\w*|mejl)\s+av\s+misstag"),
    ("fortrolig", r"fortrolig\w*"),
    (
        "ved",
        r"(?:modtaget|mottatt)\s+(?:denne|dette)\s+(?:e-?mail|besked|meddelelse|melding|e-?post)\s+ved\s+en\s+(?:fejl|feil)",
    ),
    # Polish
    ("poufn", r"poufn\w*"),
    ("otrzyma", r"otrzyma\w*[^.]{0,60}(?:omyłkowo|przez\s+pomyłkę)"),
    ("adresatem", r"(?:zamierzonym|właściwym)\s+adresatem"),
)
# Japanese and Chinese have no word boundaries: their forms go outside the \b(...)
_LEGAL_CJK = (
    ("機密", "機密"),
    ("秘密情報", "秘密情報"),
    ("誤", r"誤って(?:受信|送信|届)|誤送信|誤收"),
    ("机密", "机密"),
    ("保密", "保密"),
    ("收", r"(?:错|误)收|错误地收到|非指定(?:收件人|收件者)"),
)
LEGAL = re.compile(
    r"\b(?:" + "|".join(form for _, form in _LEGAL_FORMS) + ")|" + "|".join(form for _, form in _LEGAL_CJK),
    re.IGNORECASE,
)
MIN_CHARS = 120  # a wide (CJK) character counts twice: those notices say it in half the characters
# ... or a fixed line: virus scans, the environment, the company's registration (with its number,
# where the word alone is one an author may write)
_SERVICES = (
    r"(?:atlassian|jira|confluence|slack|asana|trello|github|gitlab|bitbucket|notion|zendesk|clickup|linear|figma|"
    r"monday\.com)"
)
_NOTICE_FORMS = (
    ("virus", r"checked\s+for\s+viruses|virus[\s-]+free"),
    ("environment", r"consider\s+the\s+environment\s+before\s+printing"),
    ("registered", r"registered\s+(?:office|in\s+england)"),
    ("company", r"company\s+(?:number|no\.|registration)"),
    ("register", r"handelsregister|registergericht"),
    ("sitz", r"sitz\s+der\s+gesellschaft"),
    # the particulars German companies must print (register court and number, directors, board)
    ("hrb", r"hrb[.:\s]{0,4}\d{2,7}\b"),
    ("hra", r"hra[.:\s]{0,4}\d{2,7}\b"),
    ("geschäftsführ", r"geschäftsführ(?:ung|er|erin|ende\s+gesellschafter(?:in)?)\s{0,3}:"),
    ("vorstand", r"vorstand(?:svorsitzende[r]?)?\s{0,3}:"),
    ("haftende", r"persönlich\s+haftende\s+gesellschafter(?:in)?"),
    # a service's notification footer (Jira, Slack, GitHub, newsletters)
    *(
        (done, rf"this\s+(?:message|e-?mail)\s+was\s+{done}\s+(?:to\s+you\s+)?(?:by|from)\s+{_SERVICES}")
        for done in ("sent", "generated")
    ),
    ("manage", r"manage\s+(?:your\s+)?(?:notification\s+settings|(?:e-?mail\s+)?preferences|subscriptions?)"),
    ("browser", r"view\s+(?:this\s+(?:e-?mail|message)\s+)?in\s+(?:your\s+)?browser"),
    (
        "receiv",
        r"you(?:\s+are|['’]re)\s+receiving\s+this\s+(?:e-?mail\s+|message\s+|notification\s+)?because|"
        r"to\s+stop\s+receiving\s+these|you\s+(?:have\s+)?received\s+this\s+(?:e-?mail|message|notification)\s+because",
    ),
    ("sent", r"this\s+(?:e-?mail|message)\s+was\s+sent\s+to\s+you\s+because"),
    ("unsubscribe", r"unsubscribe\s+from\s+this\s+list|^unsubscribe\s*:?\s*<?https?://\S+>?$"),
    ("reply", r"reply\s+to\s+this\s+e-?mail\s+directly\s+or\s+view\s+it\s+on"),
    # "think of the environment before you print this" in German, French, Spanish, Portuguese,
    # Italian, Dutch, Swedish, Danish, Polish
    ("umwelt", r"umwelt\b.{0,60}\bausdruck"),
    ("environnement", r"environnement\s+avant\s+d['’]imprimer"),
    (
        "ambiente",
        r"(?:medio|meio)\s+ambiente\b.{0,60}\bimprim|imprimir\b.{0,60}\b(?:medio|meio)\s+ambiente|"
        r"ambiente\b.{0,60}\bstampa|stampare\b.{0,60}\bambiente",
    ),
    ("milieu", r"milieu\b.{0,60}\bprint|print\w*\b.{0,60}\bmilieu"),
    ("milj", r"miljön\b.{0,60}\bskriv\w*\s+ut|miljøet\b.{0,60}\budskriv"),
    ("wydrukuj", r"wydrukuj\w*.{0,60}środowisk"),
    # registers: Dutch KvK, Danish CVR, Swedish org. nr, Italian P. IVA, French RCS and capital,
    # Spanish Registro Mercantil and CIF, Polish KRS and NIP, Brazilian CNPJ (the gaps before a
    # number bounded: an unbounded \s*:?\s* took seconds on a run of spaces)
    ("kvk", r"kvk(?:[- ]?(?:nr|nummer))?[.:\s]{0,4}\d{8}\b"),
    ("koophandel", r"kamer\s+van\s+koophandel"),
    ("cvr", r"cvr(?:[- ]?(?:nr|nummer))?[.:\s]{0,4}\d{8}\b"),
    ("org", r"org(?:anisations)?\.?[\s-]{0,2}nr[.:\s]{0,4}\d{6}-?\d{4}\b"),
    ("iva", r"p(?:artita)?\.?\s?iva[.:\s]{0,4}(?:it\s?)?\d{11}\b"),
    ("rcs", r"rcs\s+\w[\w\s'’-]{1,30}?\d{3}\s?\d{3}\s?\d{3}\b"),
    ("capital", r"au\s+capital\s+(?:social\s+)?de\s+\d"),
    ("registro", r"registro\s+mercantil\b"),
    ("if", r"(?:cif|nif)[.:\s]{0,4}[a-z]-?\d{7,8}[a-z0-9]?\b"),
    ("krs", r"krs[.:\s]{0,4}\d{10}\b"),
    ("nip", r"nip[.:\s]{0,4}\d{3}-?\d{3}-?\d{2}-?\d{2}\b"),
    ("cnpj", r"cnpj[.:\s]{0,4}\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}\b"),
)
LINE = re.compile(r"\b(?:" + "|".join(form for _, form in _NOTICE_FORMS) + ")", re.IGNORECASE)
WORDS = frozenset(word for word, _ in (*_LEGAL_FORMS, *_LEGAL_CJK, *_NOTICE_FORMS))


def may_be_notice(lowered: str) -> bool:
    """False when a lower-cased paragraph holds none of the words every notice form holds."""
    return any(word in lowered for word in WORDS)
