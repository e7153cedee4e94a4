"""Compiled patterns that recognise reply headers, separators and signature lines.

Kept apart from `reply` so the rules read as data. Every pattern is anchored and
built from bounded repetitions or plain alternations, so matching a line is
linear in its length; callers only feed single lines (or a few joined lines
capped at `HEADER_MAX_CHARS`), never a whole body.
"""

from __future__ import annotations

import re

# A header such as "On <date>, <name> <<addr>> wrote:" may be wrapped over a few
# lines by the client (Gmail wraps at 78 columns; Polymail breaks after "<").
HEADER_MAX_LINES = 6
HEADER_MAX_CHARS = 400
LINE_MAX_CHARS = 2000  # longer lines are body text, never a header

# "wrote:" and its translations; the header ends with it, or (German, Nordic,
# Dutch, Japanese Gmail) the marker is followed by the author and a colon.
_WROTE_WORDS = (
    r"wrote|writes|schrieb|schreef|a\s+écrit|a\s+ecrit|escribió|escribio|escreveu|"
    r"ha\s+scritto|scrisse|geschreven|skrev|skriver|napisał(?:\(a\))?|napisal(?:\(a\))?|pisze|ha\s+escrit|"
    r"написав(?:\(ла\))?|написа(?:л(?:\(а\))?|о(?:/ла)?|ла)?|пишет|пише|píše|napsal(?:\(a\))?|napísal(?:\(a\))?|"
    r"napisao(?:/la)?(?:\s+je)?|napisala(?:\s+je)?|έγραψε|a\s+scris|va\s+escriure|kirjoitti|kirjutas|rašė|rakstīja|"
    r"írta|yazdı|đã\s+viết|menulis|เขียนว่า|نوشت|ने\s+लिखा|님이\s*작성|작성|写道|寫道|書きました|のメッセージ|"
    # Yahoo's German "hat X Folgendes geschrieben:", Apple Mail's Polish "Wiadomość napisana przez X w dniu …:"
    # and Japanese "…, X <addr>のメール:", Hebrew "X כתב:" ("כתב/ה:"), The Bat!'s Russian "Вы писали …:"
    r"geschrieben|napisana|のメール|כתב(?:/ה)?|писали|"
    # Basque ("Bok idatzi zuen:", Gmail's "… igorleak hau idatzi zuen (date):"), Icelandic ("skrifaði")
    r"idatzi\s+zuen|skrifaði|"
    # Thunderbird's Korean "2023-03-13 오후 11:30에 Bo Berg 이(가) 쓴 글:" ("wrote" after the name's particle),
    # and its Belarusian, Welsh, Frisian, Irish, Galician, Nynorsk, Albanian and Chinese "<name> 写于 <date>:"
    r"이\(가\)\s*쓴\s*글|напісаў|ysgrifennodd|skreau|scríobh|escribiu|skreiv|shkroi|写于"
)
_WROTE = rf"{_WROTE_WORDS}|sent"
# A piece of every marker above, lowercased: text without any of them has no
# marker, and testing substrings is far cheaper than the case-blind alternation.
MARKER_PIECES = (
    "wrote",
    "sent",
    "writes",
    "schrieb",
    "schreef",
    "crit",
    "escribi",
    "escreveu",
    "scritto",
    "scrisse",
    "geschreven",
    "skrev",
    "napisa",
    "pisze",
    "написа",
    "napísal",
    "escriure",
    "kirjutas",
    "rašė",
    "rakstīja",
    "menulis",
    "เขียนว่า",
    "نوشت",
    "लिखा",
    "пише",
    "napsal",
    "píše",
    "έγραψε",
    "scris",
    "작성",
    "kirjoitti",
    "írta",
    "yazd",
    "viết",
    "写道",
    "寫道",
    "書きました",
    "のメッセージ",
    "geschrieben",
    "のメール",
    "כתב",
    "писали",
    "idatzi",
    "skrifaði",
    "쓴",
    "напіса",
    "ysgrifennodd",
    "skreau",
    "scríobh",
    "skreiv",
    "shkroi",
    "写于",
)
# Direction marks Gmail puts around a right-to-left header ("‫בתאריך … מאת ‪Bo‬‏ <…>:‬")
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# the header ends with the marker ("... wrote:", "... a écrit :") ...
WROTE_END = re.compile(rf"(?:{_WROTE})\s*[:：]?\s*-*\s*$", re.IGNORECASE)
# ... or the marker is followed by the author and a colon ("... schrieb John <j@x>:")
WROTE_MID = re.compile(rf"(?:^|[\s,])(?:{_WROTE})\s+\S.{{0,200}}[:：]\s*$", re.IGNORECASE)
# "Bob Smith wrote:" with no date and no address (Thunderbird's "author wrote" attribution,
# a list's "codinghorror via Team wrote:"): who, at most five words, then the word and a colon.
# Only a header right above a quote; reply_headers.attribution judges the name.
NAME_WROTE_MAX_CHARS = 120
NAME_WROTE = re.compile(
    rf"^\s*(?P<name>[^\s:<>]{{1,40}}(?:\s+[^\s:<>]{{1,40}}){{0,4}})\s+(?:{_WROTE_WORDS})\s*[:：]\s*$"
    # Thunderbird's Norwegian puts the word first: "skrev Ola Hansen:"
    rf"|^\s*skrev\s+(?P<after>[^\s:<>]{{1,40}}(?:\s+[^\s:<>]{{1,40}}){{0,4}})\s*[:：]\s*$"
    # Japanese clients' "佐藤 花子 さんは書きました:", the honorific joined to the name or not
    r"|^\s*(?P<ja>[^\s:<>]{1,40}(?:\s+[^\s:<>]{1,40}){0,4}?)\s*さんは書きました\s*[:：]\s*$",
    re.IGNORECASE,
)
# words that open an "On <date> ... wrote:" header in the languages we know
HEADER_START = re.compile(
    r"^[\s>*-]*(?:\d{1,4}[./-]\d{1,2}[./-]\d{2,4}|\d{4}年|(?:"
    r"on|am|le|el|em|op|den|dnia|w\s+dniu|il|på|pa|pada|vào|в|dne|เมื่อ|در|"
    r"mån|tis|ons|tors|tor|fre|lör|sön|man|tirs|lør|søn)\b|"
    r"(?:ma|ti|ke|to|pe|la|su)\s\d{1,2}\.\s|"  # Finnish Gmail: "pe 20. lokakuuta 2017 klo 17.50 …"
    # a weekday's abbreviation and a comma, then a date (Gmail's Ukrainian "ср, 19 лют. 2025 р. о 17:56",
    # Croatian "uto, 6. lip 2023.", Latvian "trešd., 2022. g."), and Korean's year "2019년"
    r"[^\W\d_]{2,6}\.?,\s(?=[^\n]{0,12}\d)|\d{4}년)",
    re.IGNORECASE,
)
# German, Dutch and Nordic Gmail open with the author: "Ana <ana@example.org> schrieb am So., 23.
# Juni 2024, 21:08:", which wraps inside the date
# ... or with a word or two between the address and the marker (Hungarian "<…> ezt írta", Basque "<…> igorleak
# hau idatzi zuen"), which Gmail wraps inside the date below
ADDRESS_THEN_MARKER = re.compile(rf"@[^\s<>@]{{1,255}}>?\s+(?:\S+\s+){{0,2}}(?:{_WROTE_WORDS})\b", re.IGNORECASE)
# Chinese Gmail: "Ana <ana@example.org> 于2026年3月2日周一 18:01写道：" (Traditional "於 …寫道："), the marker
# after the date, which Gmail's text part wraps onto a line of its own ("18:01写道：")
ADDRESS_THEN_CJK_DATE = re.compile(r"@[^\s<>@]{1,255}>?\s{0,5}[于於]\s{0,5}\d{4}\s{0,2}年")
DIGIT = re.compile(r"\d")
DAY_DOT = re.compile(r"(?:^|\s)\d{1,2}\.$")  # no sentence's end: "schrieb am So., 23." wraps before the month
# Without a "wrote" word nearby, every header form needs one of these on its first
# line: a digit or "@" (dates, addresses), a colon (fields), a run of -_=* (separators).
HEADER_CHARS = re.compile(r"[\d@:：\-_=*]")
# Gmail (and Japanese/Chinese Gmail) "2014/4/7 Name <addr>" or "2022年1月1日(金) 9:00 名前 <addr>:"
DATE_EMAIL_HEADER = re.compile(
    r"^\s*\d{4}(?:[-/.]\d{1,2}[-/.]\d{1,2}|年\d{1,2}月\d{1,2}日)[^<>\n]{0,120}<\s*\S{0,200}@\S{0,200}\s*>\s*[:：]?\s*$"
)
# Mail.ru / Yandex: "26.06.2014, 14:41, "Alexander L" <abc@example.com>:"
EMAIL_COLON_END = re.compile(r"<?[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}>?\s*[:：]\s*$")
# Android / Samsung: "---- John Smith wrote ----", "Sent from Samsung Mobile<name> wrote:"
ANDROID_HEADER = re.compile(r"^\s*-{2,}\s*\S.{0,200}\s(?:wrote|schrieb|a écrit)\s*-{2,}\s*$", re.I)
# Notes' collapsed header: "Bo Berg ---02.03.2026 18:01:00---" and the quote's first words
NOTES_HEADER = re.compile(
    r"^\s*\S.{0,120}?\s---\s?\d{1,4}[./-]\d{1,2}[./-]\d{1,4},?\s+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s?[AaPp][Mm])?\s?---"
)
# GroupWise's header above the original it puts unquoted below: ">>> Bo Berg <bo@example.com> 3/2/2026 6:01 PM >>>"
GROUPWISE_HEADER = re.compile(
    r"^>>>[ \t]+\S[^\n]{0,200}?\s\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\s+"
    r"\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?[ \t]*>>>\s*$"
)
# Nextcloud Mail's attribution: '"Lena Vogt" lena@example.org – March 4, 2024 9:12 AM' (no "wrote")
NAME_ADDRESS_DASH_DATE = re.compile(
    r'^\s*"?[^"\n<>@]{1,100}"?\s+<?[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}>?\s+[–—-]\s+'
    r"\S[^\n]{0,40}?\b(?:19|20)\d{2}\b[^\n]{0,20}?\d{1,2}:\d{2}(?:\s?[AaPp][Mm])?\s*$"  # a year, then the time
)
# Thunderbird's Arabic header, "على 02/03/2026 18:01، كتب Bo Berg:" ("on <date> <time>, <name> wrote:"), read
# only whole: "على" (on), a numeric date and a time (its short formats, in Arabic-Indic digits too, which \d
# reads, its "ص"/"م" for AM/PM), the Arabic comma, "كتب" (wrote, and also "books"), the name's words and a colon
# ending the line. Each run of spaces sits between literals and is possessive; the name's words are split by
# spaces only. Direction marks are the caller's to take out (BIDI_MARKS).
ARABIC_ATTRIBUTION = re.compile(
    r"^[ \t>]*+على[ \t]++\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}[ \t]++\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:[ \t]++(?:ص|م|am|pm))?[ \t]*+[،,][ \t]*+كتب[ \t]++[^\s:]{1,80}+(?:[ \t]++[^\s:]{1,80}+){0,7}+[ \t]*+:[ \t]*+$",
    re.IGNORECASE,
)
# Horde's "Zitat von Bo Berg <bo@example.com>:" / "Quoting …": no date, so none of the forms below
QUOTING_HEADER = re.compile(
    r"^\s*(?:zitat\s+von|quoting|citando|citation\s+de)\s+\S.{0,200}[:：]\s*$"
    r"|^\s*quoting\s+\S[^\n]{0,100}?\(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?\)\s*$",  # alot's, no colon
    re.I,
)
# Mutt's bracketed attribution "* Bo Berg <bo@example.com> [2026-03-02 18:01]:" (older ones: "[260302
# 18:01]") and sup's and
# alot's "Excerpts from Bo Berg's message of 2026-03-02 18:01:00 +0100:": no "wrote" word
CONSOLE_CLIENT_HEADER = re.compile(
    r"^\s*(?:\*\s+\S.{0,150}?\s\[(?:\d{2,4}[-./]\d{1,2}[-./]\d{1,4}|\d{6}\s\d{1,2}:\d{2})[^\]\n]{0,40}\]|"
    r"excerpts\s+from\s+\S.{0,150}?\s+message\s+of\s+\S.{0,80}?)\s*:\s*$",
    re.IGNORECASE,
)
# "reply text On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:" on one line
SHARED_LINE_HEADER = re.compile(
    r"^(?P<before>.{0,1000}?\S)\s*-*\s*(?P<header>On\s[^\n]{1,250}?\d[^\n]{0,250}?\bwrote:)\s*$"
)

# "-----Original Message-----" and translations (Outlook, Thunderbird, Lotus, Arcor's webmail: "-----
# Original Nachricht ----"); BlackBerry frames it
# with no-break spaces instead of dashes
ORIGINAL_MESSAGE = re.compile(
    r"^(?=[ \t>]*(?:[-_=*]{2}|\xa0))[\s>]*(?:[-_=*]+\s*)?(?:original\s+message|reply\s+message|replied\s+message|"
    r"ursprüngliche\s+nachricht|original-nachricht|původní\s+e-mail|"
    r"antwort\s+nachricht|originalnachricht|original\s+nachricht|oprindelig\s+meddelelse|oprindelig\s+besked|message\s+d'origine|"
    r"mensaje\s+original|mensagem\s+original|messaggio\s+originale|oorspronkelijk\s+bericht|"
    r"origineel\s+bericht|ursprungligt\s+meddelande|opprinnelig\s+melding|alkuperäinen\s+viesti|"
    r"wiadomość\s+oryginalna|oryginalna\s+wiadomość|původní\s+zpráva|исходное\s+сообщение|"
    r"eredeti\s+üzenet|元のメッセージ|原始邮件|原始郵件|邮件原件|郵件原件|원본\s*메시지|원본\s*메일|originalmeddelande|orijinal\s+mesaj|özgün\s+ileti|"
    r"αρχικό\s+μήνυμα|הודעה\s+מקורית|ursprüngliche\s+mail|mail\s+original|"
    # Thunderbird's Finnish (with its English abbreviation), Lithuanian, Icelandic and Basque
    r"alkuperäinen\s+viesti\s*/\s*orig\.\s*msg\.|originalus\s+laiškas|upprunalegur\s+póstur|jatorrizko\s+mezua|"
    # and in the languages it speaks beyond those above (its French "Message original", Slovak with the English
    # words, Arabic with or without its vowel marks)
    r"message\s+original|missatge\s+original|mensaxe\s+orixinal|mesajul\s+original|messadi\s+original|"
    r"pôvodná\s+správa(?:\s*-{2,}\s*original\s+message)?|izvirno\s+sporočilo|izvorna\s+poruka|"
    r"treść\s+oryginalnej\s+wiadomości|originalna\s+powěsć|algne\s+kiri|pesan\s+asli|thư\s+gốc|"
    r"mesazhi\s+origjinal|opphavleg\s+melding|oarspronklik\s+berjocht|oorspronklike\s+boodskap|"
    r"neges\s+wreiddiol|teachtaireacht\s+bhunaidh|kemennadenn\s+orinel|оригинално\s+писмо|"
    r"оригинална\s+порака|зыходны\s+ліст|початкове\s+повідомлення|الرسالة\s+الأصل(?:يَّة|ية)|"
    r"मूल\s+संदेश|মূল\s+বার্তা|મૂળ\s+સંદેશો|საწყისი\s+წერილი|原始消息|"
    # QQ Mail's app, framed on both sides: "------------------ Original ------------------"
    r"original(?=[\s\xa0]*[-_=*]{2})"
    r")\s*(?:[-_=*]+\s*)?$",  # each space run once: a line of 2,000 no-break spaces took seconds
    re.IGNORECASE,
)
# Orange's webmail above its De :/A :/Objet : block: "Message du 12/12/16 13:20", "Message du : 12/12/2016 13:20"
MESSAGE_OF = re.compile(r"^[\s>]*message\s+du\s{0,3}:?\s{0,3}\d{1,2}/\d{1,2}/\d{2,4}\b", re.IGNORECASE)
# Lotus Notes' title above the field block of the message it quotes: "Bo Berg via Team --- Installation ---"
NOTES_TITLE = re.compile(r"^\s*[^\s-][^\n]{0,100}?\s---\s[^\n]{1,200}?\s---\s*$")
# Tobit David's reply header, a line of its own above "Subject date / Von … / An … / Cc …"
# lines without colons: "Original Message processed by david®"
DAVID_HEADER = re.compile(r"^[\s>]*original\s+message\s+processed\s+by\s+david\b", re.IGNORECASE)
# A notification's line for replies to be typed above: "-- REPLY ABOVE THIS LINE --", "=== Reply
# above this line ===", "##- Please type your reply above this line -##" (Zendesk, which writes it
# in every language: HELPDESK_MARKER). What a reply keeps below it is the notification.
REPLY_DELIMITER = re.compile(
    r"^[\W_]*(?:(?:please\s+)?(?:(?:type|write|add|enter|put)\s+(?:your\s+)?)?(?:reply|response|answer|respond)"
    r"\s+above\s+(?:this|the)\s+line\b(?:\s+(?:to|and)\s[\w\s,'’]{0,80}?)?|"
    # Discourse's, Zendesk's and Booking's German and French ("## Bitte gib deine Antwort oberhalb
    # dieser Zeile ein. ##", "Veuillez saisir votre réponse au-dessus de cette ligne")
    r"(?:bitte\s+)?(?:(?:gib|geben|schreib|schreibe|schreiben)\s+(?:sie\s+)?(?:deine|ihre)\s+)?antwort(?:en)?"
    r"\s+(?:oberhalb|über)\s+dieser\s+zeile(?:\s+ein)?|"
    r"(?:veuillez\s+)?(?:(?:saisir|écrire|taper|saisissez|écrivez|tapez|mettez|mettre)\s+)?(?:votre\s+)?"
    r"réponse\s+au-dessus\s+de\s+cette\s+ligne)[\W_]*$",
    re.IGNORECASE,
)
HELPDESK_MARKER = re.compile(r"^\s*##\s?-\s*\S.{2,120}?\s*-\s?##\s*$")
DELIMITER_PIECES = ("above th", "##", "dieser zeile", "de cette ligne")  # one in every delimiter line, lower-cased
# The line `git format-patch` opens a patch with (a fixed date, the commit's id): the
# From:/Date:/Subject: fields below it are the patch's, pasted into the body, not a quote's header.
GIT_PATCH = re.compile(r"^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001\s*$")
# Forward markers: a forwarded message below one of these is the body, not history.
FORWARD_MARKER = re.compile(
    # mutt's and mblaze's "----- Forwarded message from Bo Berg <bo@example.net> -----"
    r"^[\s>]*(?:[-_=*]{2,}\s*(?:forwarded\s+message\s+from\s+[^\n]{1,200}?\s+[-_=*]{2,}|"
    r"forwarded\s+message|beginning\s+of\s+forwarded\s+message|weitergeleitete\s+nachricht|"
    r"message\s+transféré|mensaje\s+reenviado|mensagem\s+encaminhada|messaggio\s+inoltrato|"
    r"doorgestuurd\s+bericht|vidarebefordrat\s+meddelande|videresendt\s+meddelelse|"
    r"videresendt\s+melding|wiadomość\s+przekazana|přeposlaná\s+zpráva|пересылаемое\s+сообщение|"
    r"yönlendirilmiş\s+ileti|προωθημένο\s+μήνυμα|전달된\s+메일|pesan\s+terusan|mesaj\s+redirecționat|"
    r"thư\s+đã\s+chuyển\s+tiếp|הודעה\s+שהועברה|proslijeđena\s+poruka|"
    # Thunderbird's Slovak (with its English words), Icelandic and Basque
    r"preposlaná\s+správa(?:\s*-{2,}\s*forwarded\s+message)?|áframsendur\s+póstur|birbidalitako\s+mezua|"
    r"転送されたメッセージ|转发的邮件|轉寄的郵件)\s*[-_=*]{0,}|"
    r"begin\s+forwarded\s+message:?|forwarded\s+message:|début\s+du\s+message\s+réexpédié\s*:?|"
    r"anfang\s+der\s+weitergeleiteten\s+nachricht:?|inicio\s+del\s+mensaje\s+reenviado:?|"
    # Apple Mail's in further languages (its subject says "Fwd:" in all of them; these count without it)
    r"(?:début\s+du\s+message\s+transféré|inizio\s+messaggio\s+inoltrato|begin\s+doorgestuurd\s+bericht|"
    r"início\s+da\s+mensagem\s+(?:encaminhada|reencaminhada)|začátek\s+přeposílané\s+zprávy|"
    r"začiatok\s+preposlanej\s+správy|początek\s+przekazywanej\s+wiadomości|"
    r"начало\s+переадресованного\s+сообщения|start\s+på\s+videresendt\s+besked|videresendt\s+melding|"
    r"välitetty\s+viesti\s+alkaa|vidarebefordrat\s+mejl|továbbított\s+levél\s+kezdete|"
    r"započni\s+proslijeđenu\s+poruku|începe\s+mesajul\s+redirecționat)\s*:)\s*$",
    re.IGNORECASE,
)
# A line made only of separator characters (Outlook's "______", "-----", "=====").
SEPARATOR = re.compile(r"^\s*(?:[-_=*]\s?){2,}\s*$")

# Header-block fields (Outlook "From:/Sent:/To:/Subject:" and translations).
# Bold (Gmail renders Outlook's bold as *From:*) and indentation are tolerated.
_FIELD_PREFIX = r"^[\s>]*\*?\s*"
_FIELD_SUFFIX = r"\s*\*?\s*[:：]"
# Outlook's header-block labels, by the English name quotequail reads, in the languages mailfeed knows
# (forward.py maps a block's labels to these names); a space in a label stands for any spacing
FIELD_LABELS = {
    "From": "von|de|van|fra|från|da|od|差出人|发件人|寄件者|從|kimden|보낸 사람|lähettäjä|feladó|от|від|"
    "gönderen|από|dari|daripada|de la|từ|מאת|šalje|nuo|saatja|จาก|من|مِن|mittente|nadawca|expeditorul|отправитель|"
    "від кого",
    "Sent": "gesendet|envoyé|enviado|verzonden|sendt|skickat|inviato|wysłano|送信日時|发送时间|寄件日期|gönderildi|"
    "보낸 날짜|lähetetty|elküldve|отправлено|odesláno|enviada em|enviado el|enviado em|στάλθηκε|trimis|poslano|"
    "poslato|odoslané|изпратено|נשלח|تم الإرسال|đã gửi|dikirim|ส่ง|enviat|надіслано|išsiųsta|saadetud",
    "To": "an|à|para|aan|til|till|a|do|宛先|收件人|收件者|至|kime|받는 사람|vastaanottaja|címzett|кому|komu|προς|către|"
    "prima|za|до|אל|إلى|đến|tới|kepada|ถึง|per a|kam|adressaat|destinatario|adresat|destinatarul|pre",
    "Cc": "dw|kopia|kopi|kopio|kopie|копия|抄送|副本|참조|bilgi|κοιν|kópia|másolat|копія",
    "Subject": "betreff|objet|asunto|onderwerp|emne|ämne|oggetto|temat|件名|主题|主旨|konu|제목|aihe|tárgy|тема|"
    "předmět|assunto|θέμα|subiect|predmet|zadeva|относно|נושא|الموضوع|chủ đề|tiêu đề|subjek|เรื่อง|assumpte|tema|teema|"
    "subiectul",
    "Date": "dátum|päivämäärä|tarih|dato|datums|ημερομηνία|תאריך|datum|fecha|data|日付|发送日期|日期|날짜|дата|ngày|"
    "tanggal|التاريخ",
}


def labels_pattern(*names: str, english: bool = True) -> str:
    """The labels of the fields `names` (with the English names, unless told not) as one alternation."""
    labels = [name.lower() for name in names] if english else []
    labels += [label for name in names for label in FIELD_LABELS[name].split("|")]
    return "|".join(re.escape(label).replace(r"\ ", r"\s*") for label in labels)


FROM_FIELD = re.compile(_FIELD_PREFIX + f"(?:{labels_pattern('From')})" + _FIELD_SUFFIX, re.IGNORECASE)
OTHER_FIELD = re.compile(
    _FIELD_PREFIX + f"(?:{labels_pattern('Sent', 'Date', 'To', 'Cc', 'Subject')})" + _FIELD_SUFFIX, re.IGNORECASE
)
SUBJECT_FIELD = re.compile(_FIELD_PREFIX + f"(?:{labels_pattern('Subject')})" + _FIELD_SUFFIX, re.IGNORECASE)
# fields that may open a header block (talon: "Date: ...\nTo: ..." without From:)
BLOCK_OPENER = re.compile(_FIELD_PREFIX + r"(?:date|sent|datum|gesendet|envoyé|sendt|skickat)" + _FIELD_SUFFIX, re.I)

# ">" and the initials The Bat! and Emacs' Supercite quote with ("BB> ", "АЛ> ")
QUOTED = re.compile(r"^\s{0,10}(?:>|[^\W\d_]{1,3}>(?=\s|$))")
# More quoted lines than this above a single answer are the message answered (bottom posting), not a
# passage kept as the answer's context: they are history however long the answer (reply, reply_html)
CONTEXT_MAX_LINES = 12
# An answer an Outlook user typed into the quoted original, tagged with their name: "[Ana] Yes, Thursday."
GATEWAY_TAGS = frozenset({"EXTERNAL", "EXT", "SPAM", "SUSPICIOUS", "WARNING", "CAUTION", "SECURE", "ENCRYPT"})
INLINE_TAG_LINES = 400  # how far below a header such answers are looked for
INLINE_TAG = re.compile(r"\[([A-ZÀ-Þ][\w.'’-]{0,20}(?:\s[A-ZÀ-Þ][\w.'’-]{0,20})?)\]\s+\S")
QUOTE_PREFIX = re.compile(r"^(?:[ \t]{0,10}(?:>|[^\W\d_]{1,3}>(?=\s|$)))+ ?")

# What a mail gateway writes above the author's first words (Microsoft 365's first-contact tip,
# a tenant's CAUTION or "EXTERNAL EMAIL: Do not click links" line, in English, German or French,
# Proofpoint's external-sender box)
BANNER = re.compile(
    r"^\s*(?:you\s+don'?[t’]\s+often\s+get\s+e-?mail\s+from\b|"
    r"\[?\s*(?:caution|warning|attention|external(?:\s+e-?mail|\s+sender)?)\s*\]?\s*[:!-]?\s*"
    r"(?:this\s+(?:e-?mail|message)\s+(?:originated|came|is|was\s+sent)\s+(?:from\s+)?(?:outside|an?\s+external)|"
    r"do\s+not\s+click\s+(?:on\s+)?links)|"
    r"this\s+(?:e-?mail|message)\s+is\s+from\s+an\s+external\s+sender|"
    # German and French tenants' wording of the same
    r"(?:(?:achtung|vorsicht|warnung)\s*[:!-]?\s*)?diese\s+(?:e-?mail|nachricht)\s+(?:stammt|kommt)\s+von\s+"
    r"(?:außerhalb\s+(?:ihrer|der|unserer)\s+organisation|einem\s+externen\s+absender)|"
    r"(?:(?:attention|avertissement)\s*[:!-]?\s*)?ce\s+(?:courriel|message|mail|e-?mail)\s+provient\s+de\s+"
    r"l['’]ext[ée]rieur\s+de\s+(?:l['’]organisation|votre\s+organisation|l['’]entreprise))",
    re.IGNORECASE,
)
# A newsletter's first line, a link to its web copy ("View this email in your browser"), in English,
# German, French, Spanish, Dutch: not what it says, but the snippet and the digest line opened with it
VIEW_ONLINE = re.compile(
    r"^\s*(?:(?:having\s+trouble\s+viewing\s+this\s+e-?mail|e-?mail\s+not\s+displaying\s+correctly|"
    r"trouble\s+viewing(?:\s+this\s+e-?mail)?)\s*[?.]?\s*)?"
    r"(?:(?:view|read|open)\s+(?:this\s+(?:e-?mail|message|newsletter|post)\s+|it\s+)?"
    r"(?:online|in\s+(?:your\s+|a\s+)?(?:web\s+)?browser|as\s+a\s+web\s*page|on\s+the\s+web(?:\s+at)?)|"
    r"(?:view\s+(?:the\s+)?)?web\s+version|"
    r"(?:diese\s+e-?mail\s+)?(?:im\s+browser|online)\s+(?:an)?(?:sehen|zeigen|öffnen|anzeigen)|webversion|"
    r"(?:voir|afficher|lire)\s+(?:cet\s+e-?mail\s+|ce\s+message\s+|la\s+version\s+)?"
    r"(?:en\s+ligne|dans\s+(?:votre|le)\s+navigateur)|"
    r"ver\s+(?:este\s+(?:correo|e-?mail|mensaje)\s+|la\s+versión\s+)?(?:en\s+línea|online|en\s+(?:tu|el|su)\s+navegador)|"
    r"bekijk\s+(?:deze\s+e-?mail\s+|deze\s+nieuwsbrief\s+)?(?:online|in\s+(?:je|uw)\s+browser))"
    r"\s*[.!:]?\s*(?:<https?://[^\s<>]{1,2000}>|\(?https?://[^\s()]{1,2000}\)?)?\s*$"
    # Jira's text notification opens with its issue's link alone in brackets: "[ https://…/browse/OPS-231?… ]"
    r"|^\s*\[ https?://[^\s\]]{1,2000} \]\s*$",
    re.IGNORECASE,
)
