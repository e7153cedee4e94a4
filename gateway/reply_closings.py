"""What ends a message, for the signature split (`reply_signature`): the "-- " delimiter and the
separator lines above footers, phone apps' "Sent from my …" lines, sign-offs ("Regards,", in the
languages reply headers are read in), a name's dash, contact details, and the notices Mailman's
scrubber leaves of a message's other parts. The notices no author writes are `reply_notices`'.
"""

from __future__ import annotations

import re

# a separator above a footer: longer than a Markdown "---" rule above footnotes
SIG_SEPARATOR = re.compile(r"^\s*(?:[-_=*]\s?){5,}\s*$")
FOOTNOTE = re.compile(r"^\s*\[\d{1,3}\]")
SIG_DELIMITER = re.compile(r"^--[ \t]*$|^—[ \t]*$")  # Horde writes "--  ", with two spaces
# "Sent from my iPhone", "Sent from my Verizon Wireless BlackBerry", "Von meinem iPhone gesendet";
# Samsung ends its line with a full stop; Outlook's apps and Outlook.com (the text part of their
# linked "Sent from Outlook") with the link in angle brackets
MOBILE_LINE = re.compile(
    r"^\s*(?:\(|<<)?(?:(?:this\s+(?:message|e-?mail)\s+was\s+)?sent\s+from\s+my\s+[\w\-™® ]{1,60}|"
    # "From my iPhone 6", "Sent by Galaxy": the device and its model, nothing else
    r"(?:from\s+my|sent\s+by(?:\s+my)?)\s+(?:iphone|ipad|(?:samsung\s+)?galaxy|samsung|android|blackberry)"
    r"(?:\s{1,3}(?:\d{1,2}|[a-z]\d{1,2}|note\s?\d{1,2}|se|xr|xs)(?:\s{1,3}(?:plus|pro|max|mini|ultra|fe)){0,2})?|"
    r"please\s+excuse\s+(?:any\s+|my\s+|the\s+)?(?:typos|brevity|errors|spelling\s+mistakes)|"
    r"sent\s+from\s+mail\s{0,3}(?:<https?://[^\s<>]{1,100}>)?\s+for\s+windows(?:\s+\d+)?|"
    r"sent\s+from\s+(?:samsung|outlook|mail|yahoo|gmail|icloud|iphone|ipad|android|blackberry|protonmail|acompli|"
    r"huawei|xiaomi|windows|aol|mobile|a\s+mobile|an?\s+(?:\w+\s+)?(?:phone|device)|mymail|bluemail|spark|"
    r"typeapp|aquamail|k-9\s+mail|fairemail|"
    r"fastmail|airmail|edison\s+mail|proton\s+mail|mailbox)\b[\w\- ]{0,30}|"
    r"sent\s+from\s+the\s+all\s+new\s+aol\s+app(?:\s+for\s+\w{2,10})?|"
    # the app's name as a Markdown link: "Sent from [Proton Mail](https://proton.me/mail/home) for Android.",
    # and Proton's text part of its web app's line: "Sent with [Proton Mail](https://proton.me/) secure email."
    r"sent\s+(?:from|with)\s+\[[\w\- ]{1,30}\]\(https?://[^\s()]{1,100}\)(?:\s+for\s+\w{2,10}|\s+secure\s+e-?mail)?|"
    r"(?:securely\s+)?sent\s+(?:from|with)\s+tuta(?:nota)?\b[^\n]{0,120}|"  # "…, the secure & ad-free mailbox."
    # Outlook's apps in other languages: "Sent from Outlook for Android" and "Get Outlook for iOS"
    r"(?:gesendet\s+von|von)\s+outlook\s+für\s+\w{2,10}(?:\s+gesendet)?|"
    r"envoy[ée]\s+(?:à|a)\s+partir\s+d[e']\s*outlook(?:\s+pour\s+\w{2,10})?|"
    r"(?:verzonden|verstuurd)\s+(?:vanaf|met|via)\s+outlook(?:\s+voor\s+\w{2,10})?|"
    r"enviado\s+(?:desde|do|de)\s+(?:o\s+)?outlook(?:\s+para\s+\w{2,10})?|"
    r"(?:skickat\s+från|sendt\s+fra)\s+outlook(?:\s+(?:för|for)\s+\w{2,10})?|"
    r"(?:télécharger|obtenir)\s+outlook\s+pour\s+\w{2,10}|(?:obter|baixe)\s+o\s+outlook\s+para\s+\w{2,10}|"
    r"obtener\s+outlook\s+para\s+\w{2,10}|(?:scarica|ottieni)\s+outlook\s+per\s+\w{2,10}|"
    r"outlook\s+(?:für|voor)\s+\w{2,10}\s+(?:herunterladen|downloaden)|hämta\s+outlook\s+för\s+\w{2,10}|"
    r"sent\s+(?:via|using|with)\s+[\w\- .]{1,40}|"
    r"(?:get|download)\s+(?:outlook|bluemail|spark)\s+for\s+\w{2,10}|"
    r"sent\s+from\s+outlook(?:\s+for\s+\w+)?|"
    r"(?:\S+\s+)?via\s+(?:mobile|iphone|android|ipad|blackberry)|sent\s+on\s+the\s+go|"
    r"envoyé\s+(?:de|depuis)\s+mon\s+[\w ]{1,30}|von\s+meinem(?:/meiner)?\s+[\w ]{1,30}\s+gesendet|"
    r"gesendet\s+von\s+meinem\s+[\w\- ]{1,30}|"
    r"diese\s+nachricht\s+wurde\s+von\s+meinem\s+[\w\-. ]{1,60}\s+gesendet|"  # GMX's and WEB.DE's apps
    r"gesendet\s+mit\s+der\s+(?:gmx|web\.de|1&1|mail\.com)\s+mail\s+app|"
    r"enviado\s+desde\s+mi\s+[\w ]{1,30}|enviado\s+do\s+meu\s+[\w ]{1,30}|"
    r"(?:verstuurd|verzonden)\s+(?:vanaf|met)\s+mijn\s+[\w ]{1,30}|skickat\s+från\s+min\s+[\w ]{1,30}|"
    r"sendt\s+fra\s+min\s+[\w ]{1,30}|inviato\s+da\s+(?:il\s+mio\s+)?[\w ]{1,30}|"
    # in the languages below a bare "sent from …" is an ordinary sentence: the device must be named
    r"wysłane\s+z\s+(?:mojego\s+)?(?:iphone|ipad|android|smartfon|telefonu|samsung|galaxy|huawei|xiaomi|aplikacji)"
    r"[\w' ]{0,30}|"
    r"lähetetty\s+(?:iphonesta|ipadista|[\w\-]{1,30}(?:puhelimesta|laitteesta))|"
    r"(?:отправлено|надіслано)\s+(?:с|з)\s+(?:моего\s+|мого\s+)?(?:iphone|ipad|android|samsung|galaxy|huawei|"
    r"xiaomi|honor)\b[\w\-. ]{0,30}|отправлено\s+из\s+(?:мобильной\s+)?почты\s+mail\.ru|"
    r"odesláno\s+z\s+(?:mého\s+)?(?:iphonu|ipadu|iphone|ipad|androidu|telefonu|mobilu|aplikace)\b[\w\- ]{0,30}|"
    r"trimis\s+de\s+pe\s+(?:iphone|ipad|android|dispozitivul)\b[\w\-' ]{0,30}|"
    r"(?:az\s+)?(?:iphone|ipad|android|samsung)[\w\-]{0,20}(?:ról|ről)\s+küldve|"
    r"στάλθηκε\s+από\s+(?:το\s+|τη\s+)?(?:iphone|ipad|android|samsung|κινητό)[\w ]{0,20}|"
    r"(?:iphone|ipad|android|samsung|galaxy)[\w]{0,10}'?(?:umdan|ımdan|imden|ümden|dan|den)\s+gönderildi|"
    r"(?:나의\s+)?(?:iPhone|iPad|Galaxy|갤럭시|Android)[\w ]{0,20}에서\s+보냄|"
    r"(?:iPhone|iPad|Android)\s?から送信|从我的\s?(?:iPhone|iPad)\s?发送|发自我的\s?(?:iPhone|iPad|手机)|從我的\s?(?:iPhone|iPad)\s?傳送)"
    # its link: "<…>" in a client's text part, "[…]" from some converters, "(…)" in the text of an
    # HTML-only one, or glued on ("iOShttps://…")
    r"(?:\s{0,3}[<\[(]?https?://[^\s<>\[\]()]{1,100}[>\])]?)?"
    # "Sent from my phone. Please excuse typos."
    r"(?:\s{0,3}[.,!]?\s{0,3}please\s+excuse\s+(?:any\s+|my\s+|the\s+)?(?:typos|brevity|errors|spelling\s+mistakes))?"
    r"\s{0,3}[.!]?\s{0,3}(?:\)|>>)?\s{0,3}$",  # of a line its caller stripped
    re.IGNORECASE,
)
# the link of the line above, on a line of its own ("Verzonden vanaf Outlook voor Android\n[https://aka.ms/…]")
BARE_LINK = re.compile(r"^\s*[<\[]?https?://[^\s<>\[\]]{1,100}[>\]]?\s*$")
# closing formulas that start a sign-off block ("Regards,\nJohn")
_SIGN_OFF_WORDS = (
    r"(?:(?:best|kind|warm|warmest|many|with)\s+(?:regards|wishes|thanks)|regards|"
    r"thanks?(?:\s+(?:again|a\s+lot|so\s+much))?(?:\s+(?:&|and)\s+regards)?|thank\s+you(?:\s+again)?|"
    r"cheers|best|all\s+the\s+best|sincerely|yours(?:\s+(?:truly|sincerely))?|cordially|br|rgds|thx|"
    r"take\s+care|talk\s+soon|ciao|"
    r"mvh|med\s+venlig\s+hilsen|venlig\s+hilsen|hilsen|kh|mvh\.|med\s+vänlig\s+hälsning|"
    r"vänliga\s+hälsningar|hälsningar|vh|"
    # with "ss" for "ß" as Swiss German writes it ("Freundliche Grüsse")
    r"mit\s+freundlichen\s+grü(?:ß|ss)en|mit\s+freundlichem\s+gru(?:ß|ss)|"
    r"(?:viele|liebe|beste|herzliche|freundliche|schöne)\s+grü(?:ß|ss)e|"
    r"lg|vg|mfg|gru(?:ß|ss)|grü(?:ß|ss)e|servus|"
    r"vielen\s+dank|danke(?:\s+(?:schön|sehr|im\s+voraus))?|"
    r"met\s+vriendelijke\s+groet(?:en)?|(?:vriendelijke|hartelijke)\s+groet(?:en)?|groeten|groet|groetjes|grt|gr|"
    r"bedankt|dank\s+je(?:\s?wel)?|"
    r"pozdrawiam|z\s+poważaniem|z\s+powazaniem|s\s+pozdravem|"
    r"(?:bien\s+|très\s+)?cordialement|bien\s+à\s+vous|salutations|merci(?:\s+(?:beaucoup|d'avance))?|"
    r"saludos(?:\s+cordiales)?|un\s+saludo|atentamente|cordialmente|(?:muchas\s+)?gracias|"
    r"atenciosamente|abraços|cumprimentos|obrigad[oa]|"
    r"cordiali\s+saluti|saluti|distinti\s+saluti|un\s+(?:caro\s+)?saluto|grazie(?:\s+mille)?|"
    r"med\s+vennlig\s+hilsen|vennlig\s+hilsen|ystävällisin\s+terveisin|terveisin|с\s+уважением|"
    r"saygılarımla|감사합니다|よろしくお願いします|よろしくお願いいたします|以上|此致|谢谢|"
    # the languages whose reply headers are read too
    r"med\s+vänliga\s+hälsningar|με\s+εκτίμηση|φιλικά|cu\s+stimă|cu\s+respect|cu\s+drag|"
    r"(?:lijep|srdačan|lep)\s+pozdrav|s\s+poštovanjem|s\s+spoštovanjem|s\s+pozdravom|s\s+úctou|lp|"
    r"поздрави|с\s+уважение|з\s+повагою|בברכה|مع\s+(?:خالص\s+)?تحياتي|trân\s+trọng|thân\s+ái|hormat\s+saya|"
    r"salam(?:\s+hangat)?|ขอแสดงความนับถือ|salutacions|atentament|pagarbiai|linkėjimai|lugupidamisega|"
    r"parimate\s+soovidega|ar\s+cieņu|sveicieni|üdvözlettel|tisztelettel|selamlar|iyi\s+çalışmalar|"
    # short closings and thanks in those languages, as "Cheers," and "Thanks," are
    r"üdv|köszönöm|köszi|díky|děkuji|ďakujem|kiitos|teşekkürler|спасибо|дякую|mulțumesc|hvala|pozdrav|takk|"
    r"(?:bestu\s+)?kveðj(?:a|ur)|ondo\s+izan|eskerrik\s+asko)"
)
# (two languages at once too: "Mit freundlichen Grüßen / Kind regards")
SIGN_OFF = re.compile(rf"^\s*{_SIGN_OFF_WORDS}(?:\s*[,.]?\s?/\s?{_SIGN_OFF_WORDS})?\s*[,.!，。！،]?\s*$", re.IGNORECASE)
# ... or with the name on the same line ("Thanks, Ana", "Cheers, Bo", "Thx, A."): each word of it
# capitalized, and no "!", which thanks someone else ("Thanks, Bo!" is the author's words to Bo)
SIGN_OFF_NAMED = re.compile(
    rf"^\s*{_SIGN_OFF_WORDS}\s?[,–-]\s?(?-i:[A-ZÀ-Ý][\w.'’À-ÿ-]{{0,30}}(?: [A-ZÀ-Ý][\w.'’À-ÿ-]{{0,30}}){{0,2}})"
    r"\s*$",
    re.IGNORECASE,
)
# "-Abhishek Kona", "--Ana", "/John": a one-line sign-off
DASH_NAME = re.compile(r"^\s*(?:--?|[/~])\s?[A-ZÀ-Ý][\w.'À-ÿ]{0,30}(?:\s[A-ZÀ-Ý][\w.'À-ÿ]{0,30}){0,2}\s*$")
# lines of a contact block
CONTACT = re.compile(
    r"[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{2,}|https?://|www\.|"
    r"(?:^|\s)(?:t|tel|phone|mobile|mob|cell|fax|f|m|p)\s*[.:]?\s*\+?[\d(][\d\s().-]{6,}|"
    r"^\s*\+?\(?\d{2,4}\)?[\s.-]?\d{2,4}[\s.-]?\d{3,5}\s*$|(?:^|[\s|])\+\d{1,3}[\s.-]?\(?\d{1,4}\)?[\s.-]?\d{3,}|"
    r"skype\s*:",
    re.IGNORECASE,
)


# What Mailman's scrubber left of a message's other parts, in its text archives and in lists that
# scrub what they deliver: "-------------- next part --------------" and a notice with a link
SCRUBBED_SEPARATOR = re.compile(r"^-{5,} ?next part ?-{5,}\s*$", re.IGNORECASE)
SCRUBBED_NOTICE = re.compile(
    r"^\s*(?:(?:an?\s+)?(?:non-text\s+attachment|html\s+attachment|embedded\s+message|"
    r"embedded\s+and\s+charset-unspecified\s+text|attachment)\s+(?:was\s+)?scrubbed(?:\.{3}|\s+and\s+removed)?|"
    r"skipped\s+content\s+of\s+type\s+\S+|(?:name|type|size|desc|url|from|subject|date)\s?:.*)\s*$",
    re.IGNORECASE,
)
MAX_SCRUBBED_LINES = 80  # ten parts' notices
