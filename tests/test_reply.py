"""Reply splitting: new text vs quoted history vs signature, text and HTML."""

from __future__ import annotations

import email
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway import reply_closings as C
from gateway import reply_patterns as P
from gateway.forward import unwrap_text
from gateway.html_text import html_to_text
from gateway.message import ReplyParts
from gateway.reply import split_reply, split_reply_html, without_signature
from gateway.reply_thread import split_thread
from tests.helpers import analysed_fixture

EML = Path(__file__).parent / "data" / "eml"


def body(name: str, subtype: str = "plain") -> str:
    msg = email.message_from_bytes((EML / name).read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


def test_gmail_reply_keeps_only_new_text() -> None:
    parts = split_reply(body("gmail-reply.eml"))
    assert parts.text == "Looks good to me, ship it."
    assert parts.quoted_text.startswith("On Mon, Mar 2, 2026 at 6:01 PM Bo Berg")
    assert "> Here is the launch checklist." in parts.quoted_text


def test_gmail_html_reply_is_cut_at_gmail_quote() -> None:
    new, quoted = split_reply_html(body("gmail-reply.eml", "html"))
    assert html_to_text(new) == "Looks good to me, ship it."
    assert "gmail_quote" in quoted and "launch checklist" in quoted


def test_outlook_original_message_block_is_history() -> None:
    parts = split_reply(body("outlook-original-message.eml"))
    assert parts.text == "Approved from my side.\n\nCarl"
    assert parts.quoted_text.startswith("-----Original Message-----")


def test_outlook_from_block_takes_its_underscore_separator() -> None:
    parts = split_reply(body("outlook-from-block-no-separator.eml"))
    assert parts.text == "Fine by me."
    assert parts.quoted_text.startswith("________________________________\nFrom: Dora Eck")


def test_outlook_html_reply_is_cut_before_the_hr() -> None:
    new, quoted = split_reply_html(body("outlook-html-divrplyfwdmsg.eml", "html"))
    assert html_to_text(new) == "Approved."
    assert "<hr" not in new and "divRplyFwdMsg" in quoted


def test_german_header_and_sign_off() -> None:
    parts = split_reply(body("german-am-schrieb.eml"))
    assert parts.text == "Donnerstag passt mir."
    assert parts.signature == "Viele Grüße\nEmil"
    assert parts.quoted_text.startswith("Am 02.03.2026 um 14:30 schrieb")


def test_tobit_david_header_without_colons_is_history() -> None:
    text = body("tobit-david-processed-by.eml")
    parts = split_reply(text)
    assert parts.text == "Die Lieferung kommt am Mittwoch."
    assert parts.quoted_text.startswith("Original Message processed by david®")
    [_, older] = split_thread(text)
    assert older.header.splitlines()[-1] == "Cc (2) Lager|Einkauf"
    assert older.body == "Wann kommt die Lieferung?"


def test_mobile_signature_is_split_off() -> None:
    parts = split_reply(body("iphone-sent-from.eml"))
    assert (parts.text, parts.signature) == ("Count me in.", "Sent from my iPhone")
    assert parts.quoted_text.startswith("> On Mar 2, 2026")


@pytest.mark.parametrize(
    "line",
    [
        "Verzonden vanaf mijn iPhone",
        "Verzonden met mijn Windows Phone",
        "Wysłane z iPhone'a",
        "Wysłane z mojego smartfonu Galaxy",
        "发自我的iPhone",
        "Lähetetty iPhonesta",
        "Lähetetty Android-puhelimesta",
        "Отправлено с iPhone",
        "Отправлено из мобильной Почты Mail.ru",
        "Надіслано з iPhone",
        "Gesendet von meinem Huawei Mobiltelefon",
        "Von meinem/meiner Galaxy gesendet",
        "Diese Nachricht wurde von meinem Android-Mobiltelefon mit GMX Mail gesendet.",
        "Odesláno z iPhonu",
        "Az iPhone-omról küldve",
        "Trimis de pe iPhone-ul meu",
        "iPhone'umdan gönderildi",
        "Στάλθηκε από το iPhone μου",
        "나의 iPhone에서 보냄",
        "Android から送信",
        "Sent from myMail for iOS",
        "Get BlueMail for Android",
        # Outlook's apps in other languages, with their link as each client writes it
        "Gesendet von Outlook für Android",
        "Von Outlook für iOS gesendet",
        "Envoyé à partir de Outlook pour Android<https://aka.ms/AAb9ysg>",
        "Verzonden vanaf Outlook voor Android [https://aka.ms/AAb9ysg]",
        "Verzonden vanaf Outlook voor Android\n[https://aka.ms/AAb9ysg]",
        "Enviado desde Outlook",
        "Télécharger Outlook pour Android",
        "Obter o Outlook para Android",
        "Get Outlook for iOShttps://aka.ms/o0ukef",  # the HTML's link rendered with no space
        "Get Outlook for Android [https://aka.ms/ghei36]",
        # other apps and phones
        "Envoyé depuis mon iPhone",
        "從我的 iPhone 傳送",
        "Sent from Proton Mail for iOS",
        "Sent with Tutanota, the secure & ad-free mailbox.",
        "Securely sent with Tutanota. Get your own encrypted, ad-free mailbox: https://tutanota.com",
        "Sent from Mailbox for iPad",
        "Sent from the all new AOL app for iOS",
        "Gesendet mit der WEB.DE Mail App",
        "Sent from my Sony Xperia™ smartphone",
        "Sent from my BlackBerry® wireless device",
        "Sent from my cell, please excuse any typos.",
        "(Sent from mobile device)",
        "(sent from a phone)",
        # the device alone, as some phones and their owners write it
        "From my iPhone",
        "From My Iphone 6",
        "From my iPhone 12 Pro Max",
        "Sent by Galaxy",
        "<<sent by galaxy>>",
        "Sent by my Samsung Galaxy S21",
        "Sent from [Proton Mail](https://proton.me/mail/home) for Android.",  # a Markdown link
        "Get Outlook for iOS (https://aka.ms/o0ukef)",  # an HTML-only message's link, as its text reads
        "Download Outlook for Android<https://aka.ms/ghei36>",
        "Sent from TypeApp<http://www.typeapp.com/r?b=2621>",
        "Sent from AquaMail for Android",
    ],
)
def test_mobile_apps_default_lines_in_many_languages_are_signatures(line: str) -> None:
    parts = split_reply(f"Yes, Thursday works for me.\n\n{line}")
    assert (parts.text, parts.signature) == ("Yes, Thursday works for me.", line)


@pytest.mark.parametrize(
    "line",
    [
        "Trimis de pe site.",
        "Paket gönderildi",
        "Отправлено из офиса",
        "Odesláno z kanceláře",
        "Wysłane z biura",
        "Verzonden vanaf Outlook voor Android: bel mij op 06-12345678",
        "I use Outlook for iOS",
        "Ik heb dit verzonden vanaf Outlook voor Android, kun je de bijlage lezen?",
    ],
)
def test_a_last_line_saying_something_was_sent_from_a_place_stays_text(line: str) -> None:
    parts = split_reply(f"Hi,\n\nthe parcel left.\n\n{line}")
    assert (parts.text, parts.signature) == (f"Hi,\n\nthe parcel left.\n\n{line}", "")


def test_inline_reply_keeps_interleaved_quotes_and_drops_the_trailing_one() -> None:
    parts = split_reply(body("inline-interleaved-reply.eml"))
    assert parts.text.startswith("On Mon, Mar 2, 2026 at 9:00 AM, Max Nils")
    assert "> Can you do Tuesday?\n\nYes, Tuesday works." in parts.text
    assert parts.text.endswith("Sure, I will bring it.")
    assert parts.quoted_text == "> Thanks,\n> Max"


def test_a_quote_without_header_above_a_short_answer_is_history() -> None:
    # bottom posting with no "On … wrote:" line: as with one, the quote alone is history
    parts = split_reply("> Does Thursday suit you?\n> Or Friday?\n\nThursday works.\n\n-- \nAna\n")
    assert (parts.text, parts.signature) == ("Thursday works.", "--\nAna")
    assert parts.quoted_text == "> Does Thursday suit you?\n> Or Friday?"
    # answers between quotes, or a long one under it, keep the quote as their context
    inline = "> Does Thursday suit you?\n\nYes.\n\n> Or Friday?\n\nNo."
    assert split_reply(inline).text == inline
    long = "> Does Thursday suit you?\n\n" + "Thursday works for the whole team, and the room is free all day.\n" * 2
    assert split_reply(long).text == long.strip()


@pytest.mark.parametrize(
    "attribution",
    [
        "Bo Berg wrote:",
        '"Bo Berg" wrote:',
        "Bo wrote:",
        "bo.berg wrote:",
        "codinghorror via Team wrote:",
        "Bo Berg via Team wrote:",
        "Bo Berg schrieb:",
        "Bo Berg a écrit :",
        "Bo Berg escribió:",
        "Bo Berg skrev:",
        "Bo Berg napisał(a):",
    ],
)
def test_a_name_wrote_line_right_above_the_closing_quote_goes_with_it(attribution: str) -> None:
    # Thunderbird's "author wrote" attribution: no date, no address, but a quote right below
    parts = split_reply(f"The room is booked.\n\n{attribution}\n> Could you book a room?\n> Bo\n")
    assert parts.text == "The room is booked."
    assert parts.quoted_text == f"{attribution}\n> Could you book a room?\n> Bo"
    new, quoted = split_reply_html(
        f"<p>The room is booked.</p><div>{attribution}</div><blockquote type=cite><p>Could you?</p></blockquote>"
    )
    assert html_to_text(new) == "The room is booked."
    assert attribution.split()[0] in quoted


@pytest.mark.parametrize(
    "lead_in",
    [
        "Here is what the customer wrote:",  # the author's own words, a quote they chose
        "Look at what Bo wrote:",
        "Bo Berg wrote:\n",  # a blank line between: no header of a client
        "Bo Berg wrote: we can close the ticket.",
    ],
)
def test_a_lead_in_or_a_sentence_above_a_quote_stays_the_authors(lead_in: str) -> None:
    parts = split_reply(f"The room is booked.\n\n{lead_in}\n> Could you book a room?\n")
    assert parts.text == f"The room is booked.\n\n{lead_in.strip()}"
    assert parts.quoted_text == "> Could you book a room?"


@pytest.mark.parametrize(
    "header",
    [
        "On Tue, Mar 3, 2026 at 10:00 AM John Doe <john@example.com> wrote:",
        "Am Di., 3. März 2026 um 10:00 Uhr schrieb John Doe <john@example.com>:",
        "Le mar. 3 mars 2026 à 10:00, John Doe <john@example.com> a écrit :",
        "El mar, 3 mar 2026 a las 10:00, John Doe (<john@example.com>) escribió:",
        "Op di 3 mrt 2026 om 10:00 schreef John Doe <john@example.com>:",
        "Den tis 3 mars 2026 kl 10:00 skrev John Doe <john@example.com>:",
        "Den 3. mar. 2026 kl. 10.00 skrev John Doe <john@example.com>:",
        "W dniu 3.03.2026 o 10:00, John Doe pisze: John Doe <john@example.com> napisał:",
        "Em ter., 3 de mar. de 2026 às 10:00, John Doe <john@example.com> escreveu:",
        "Il giorno mar 3 mar 2026 alle ore 10:00 John Doe <john@example.com> ha scritto:",
        "2026年3月3日(火) 10:00 John Doe <john@example.com>:",
        "在 2026年3月3日 10:00，John Doe <john@example.com> 写道：",
        "-----Ursprüngliche Nachricht-----",
        "----- Original Nachricht ----",  # Arcor's webmail
        "----- original Nachricht --------",
        "-------- Oprindelig besked --------",  # Danish Android
        "El 19/03/2014 11:34, Juan Pérez <juan@example.com> ha escrit:",  # Catalan Gmail
        "W dniu 2015-01-07 14:23, jan.kowalski@example.com pisze:",  # Polish Thunderbird
        "2016. 11. 8. 오후 12:39 Test user <test@example.com> 작성:",  # Korean Apple Mail
        "29 грудня 2017 р. о 19:09 <support@example.com> написав:",  # Ukrainian Gmail
        "Jan Novák píše v Út 24. 07. 2012 v 20:48 +0100:",  # Czech Evolution
        "-----Message d'origine-----",
        # Gmail's wording in further languages
        "Pada tanggal Sel, 3 Mar 2026 pukul 10.00 John Doe <john@example.com> menulis:",
        "Pada Sel, 3 Mac 2026 pada 10:00 PG John Doe <john@example.com> menulis:",
        "เมื่อ อ. 3 มี.ค. 2026 เวลา 10:00 John Doe <john@example.com> เขียนว่า:",
        "El dt., 3 de març 2026, 10:00, John Doe <john@example.com> va escriure:",
        "uto, 3. ožu 2026. u 10:00 John Doe <john@example.com> napisao je:",
        "ut 3. 3. 2026 o 10:00 John Doe <john@example.com> napísal(a):",
        "tor., 3. mar. 2026 ob 10:00 je oseba John Doe <john@example.com> napisala:",
        "вт, 3.03.2026 г. в 10:00 ч. John Doe <john@example.com> написа:",
        "уто, 3. мар 2026. у 10:00 John Doe <john@example.com> је написао/ла:",
        "2026 m. kovo 3 d., antr., 10:00 John Doe <john@example.com> rašė:",
        "T, 3. märts 2026 10:00 John Doe <john@example.com> kirjutas:",
        "otrd., 2026. g. 3. marts, plkst. 10:00 — lietotājs John Doe (<john@example.com>) rakstīja:",
        "در تاریخ سه‌شنبه ۳ مارس ۲۰۲۶ ساعت ۱۰:۰۰ John Doe <john@example.com> نوشت:",
        "मंगल, 3 मार्च 2026 को 10:00 am बजे John Doe <john@example.com> ने लिखा:",
        # wrapped by the client, as Gmail's text part does at 78 columns
        "Pada tanggal Sel, 3 Mar 2026 pukul 10.00 John Doe <\njohn@example.com> menulis:",
        "El dt., 3 de març 2026, 10:00, John Doe <john@example.com>\nva escriure:",
        # Finnish Gmail wraps before the address; German and Swedish Gmail, which open with the
        # author, inside the date ("23." is no sentence's end)
        "pe 20. lokakuuta 2017 klo 17.50 John Coe\n<john.coe@example.com> kirjoitti:",
        "John Doe <john@example.com> schrieb am So., 23.\nJuni 2024, 21:08:",
        "John Doe <john@example.com> skrev den tors 23\njuni 2024 kl 21:08:",
    ],
)
def test_localized_reply_headers_start_the_history(header: str) -> None:
    parts = split_reply(f"New text.\n\n{header}\n> old text\n")
    assert parts.text == "New text."
    assert parts.quoted_text.startswith(header)


@pytest.mark.parametrize("opener", ["Message du 12/12/16 13:20", "====\n\nMessage du : 12/12/2016 13:20"])
def test_oranges_message_du_line_above_its_field_block_goes_with_the_history(opener: str) -> None:
    """Orange's webmail writes "Message du <date>" above its De :/A :/Objet : block: it was the reply's last line."""
    block = "De : Bo Berg <bo@example.com>\nA : ana@example.org\nCopie à :\nObjet : Devis\n\nVoici le devis."
    parts = split_reply(f"Merci, c'est noté.\n\n{opener}\n{block}\n")
    assert parts.text == "Merci, c'est noté."
    assert parts.quoted_text == f"{opener}\n{block}"


@pytest.mark.parametrize("attribution", ["Marco Bambini wrote:", "John Doe schrieb:"])
def test_a_bare_attribution_opening_the_body_heads_the_quote_below_it(attribution: str) -> None:
    """Thunderbird 2's "Name wrote:" with no date or address, first in the body, then the quote and
    the answer under it: nothing was split off."""
    quote = "".join(f"> line {i} of the question\n" for i in range(6))
    parts = split_reply(f"{attribution}\n{quote}\nAll the world is not a VAX.\n")
    assert parts.text == "All the world is not a VAX."
    assert parts.quoted_text == f"{attribution}\n{quote}".rstrip("\n")


def test_zimbras_dash_before_its_header_goes_with_the_header() -> None:
    """Zimbra writes "- On … wrote:": the dash was split off as the reply's last line."""
    header = "- On 2026-04-09 23:25, Bo Berg <bo@example.com> wrote:"
    parts = split_reply(f"Thanks, see you then.\n\nAna\n\n{header}\n> Dinner at eight?\n")
    assert parts.text == "Thanks, see you then.\n\nAna"
    assert parts.quoted_text == f"{header}\n> Dinner at eight?"


def test_localized_outlook_field_block_is_history() -> None:
    text = "Ja.\n\nVon: A <a@example.de>\nGesendet: Montag, 2. März 2026 10:00\nAn: B\nBetreff: Frage\n\nAlt."
    assert split_reply(text).text == "Ja."


def test_forwarded_message_is_not_history() -> None:
    text = body("gmail-forwarded-message.eml")
    assert "Maintenance window" in split_reply(text).text


def test_line_starting_with_on_is_not_a_header() -> None:
    text = "On your machine, run make.\nOne more thing: it needs 2 GB."
    assert split_reply(text).text == text


@pytest.mark.parametrize(
    ("last", "header"),
    [
        ("On it.", "On Mon, 9 Mar 2026 at 10:00, Bo Berg <bo@example.com> wrote:"),
        ("On second thought, let us meet at 11 instead.", "On Mon, 9 Mar 2026 at 10:00, Bo <bo@example.com> wrote:"),
        ("Le plan est en pièce jointe.", "Le lun. 9 mars 2026 à 10:00, Bo Berg <bo@example.com> a écrit :"),
        ("Am besten gleich morgen!", "Am Mo., 9. März 2026 um 10:00 Uhr schrieb Bo Berg <bo@example.com>:"),
        ("on the staging server, as agreed.", "On Mon, 9 Mar 2026 at 10:00, Bo Berg <bo@example.com> wrote:"),
        ("Let us meet\non Friday at 10", "On Mon, 9 Mar 2026 at 10:00, Bo Berg <bo@example.com> wrote:"),
        ("Op donderdag om 10 uur", "Op ma 9 mrt. 2026 om 10:00 schreef Bo Berg <bo@example.com>:"),
        # a day's number ending the line reads as a date cut by a wrap, but a whole header below stops it
        ("We meet at 10.", "On Mon, 9 Mar 2026 at 10:00, Bo Berg <bo@example.com> wrote:"),
        ("To 12. Mai geht das nicht.", "Am Mo., 9. März 2026 um 10:00 Uhr schrieb Bo Berg <bo@example.com>:"),
    ],
)
def test_the_authors_last_words_that_open_like_a_header_stay_above_it(last: str, header: str) -> None:
    # A header wraps over lines; the author's sentence above it, opening with "On" (or "Le", "Am"), was
    # read as its first line and hidden with the history: "On it." left a reply with no text at all.
    parts = split_reply(f"Thanks!\n\n{last}\n\n{header}\n> Does Thursday suit you?\n")
    assert parts.text == f"Thanks!\n\n{last}"
    assert parts.quoted_text == f"{header}\n> Does Thursday suit you?"


def test_sent_from_in_a_sentence_is_not_a_signature() -> None:
    text = "Sent from my desk, which is easier than my phone."
    assert split_reply(text) == split_reply(text)  # pure
    assert split_reply(text).signature == ""


@pytest.mark.parametrize(
    "line", ["From my iPhone I cannot open the attachment.", "From my iPhone to yours", "Sent by Galaxy courier"]
)
def test_a_sentence_that_opens_with_a_device_is_not_a_signature(line: str) -> None:
    assert split_reply(f"Yes, Thursday works for me.\n\n{line}").signature == ""


@pytest.mark.parametrize(
    "line", ["Sent from my iPhone", "Sent from [Proton Mail](https://proton.me/mail/home) for iOS."]
)
def test_a_body_of_only_an_app_line_is_no_text(line: str) -> None:
    """A photo sent from a phone: the app's line is all the body says, and it is no one's words."""
    assert split_reply(f"{line}\n") == ReplyParts(text="", signature=line)


def test_a_lone_dash_dash_above_the_quote_is_no_text() -> None:
    """A client that puts the "-- " line above the quote and nothing else: the reply has no words of its own."""
    parts = split_reply("--\n> quote line 1\n> quote line 2\n")
    assert (parts.text, parts.quoted_text) == ("", "> quote line 1\n> quote line 2")
    assert split_reply("-- \n").text == ""


def test_a_separator_between_two_parts_of_the_message_is_not_a_signature() -> None:
    """The author's own divider, with words and their closing below it: only the closing is the signature."""
    text = (
        "Hello Ana,\n\nThis is the first part of the new reply.\n\n" + "_" * 60 + "\n\n"
        "This is the second part of the new reply.\n\nBest regards,\nBo Berg\n\n"
        "On July 28, 2026, Ana Lima wrote:\n> This is the previous quoted message.\n"
    )
    parts = split_reply(text)
    assert parts.text == text.split("\n\nBest regards,")[0]
    assert parts.signature == "Best regards,\nBo Berg"
    assert parts.quoted_text == "On July 28, 2026, Ana Lima wrote:\n> This is the previous quoted message."
    # a separator right above the closing, or above a list's footer, still starts the signature
    assert (
        split_reply("Agreed.\n\n" + "_" * 30 + "\nBest regards,\nBo Berg").signature
        == "_" * 30 + "\nBest regards,\nBo Berg"
    )
    footer = "_" * 30 + "\nteam mailing list\nteam@lists.example.com\nhttps://lists.example.com/team"
    assert (
        split_reply(f"Agreed.\n\nBest regards,\nBo Berg\n\n{footer}").signature == f"Best regards,\nBo Berg\n\n{footer}"
    )


def test_an_attribution_above_a_quote_with_the_repliers_signature_below_it_is_history() -> None:
    """A top-posted answer, the quote, then the replier's "-- " block: the quote was folded and
    "Bob Stone wrote:" left as the answer's last line."""
    parts = split_reply("Fix in an hour.\n\nBob Stone wrote:\n> The nightly build is red.\n\n-- \nAna Lopes\n")
    assert (parts.text, parts.signature) == ("Fix in an hour.", "--\nAna Lopes")
    assert parts.quoted_text == "Bob Stone wrote:\n> The nightly build is red."
    # old mutt's attribution, "[YYMMDD HH:MM]"
    mutt = split_reply("Thanks.\n\n* Bo Berg (bo@example.org) [260302 17:43]:\n> It works now.\n")
    assert (mutt.text, mutt.quoted_text) == ("Thanks.", "* Bo Berg (bo@example.org) [260302 17:43]:\n> It works now.")


def test_a_tables_rule_between_its_head_and_rows_is_no_signature_separator() -> None:
    """A bug tracker's change list, "What | Removed | Added", a rule, its rows: the rows were folded
    away as a footer, and the change itself was hidden."""
    table = "Ana changed:\n\n   What |Removed |Added\n" + "-" * 40 + "\n  Blocks|        |4327\n\n-- \nConfigure mail"
    parts = split_reply(table)
    assert parts.text.endswith("Blocks|        |4327") and parts.signature == "--\nConfigure mail"
    signed = split_reply("Done.\n\nBo Berg | Ops\n" + "-" * 20 + "\nACME | www.acme.example")  # no columns
    assert signed.signature == "-" * 20 + "\nACME | www.acme.example"


def test_a_patch_and_its_review_keep_their_in_body_header_diff_and_alots_attribution() -> None:
    """Found with patchwork's, b4's and git's own test mail: a reviewer's counter-patch under "-- >8 --"
    starts with git's in-body From:/Subject:, which was read as Outlook's history header and folded
    away with the patch; a Markdown item removed in the diff ("-- ") was a second signature layer;
    alot's "Quoting Name (date)" has no colon."""
    counter = (
        "I'd rather fix the caller. Something like this?\n\n-- >8 --\nFrom: Bob Lind <bob@example.com>\n"
        "Subject: [PATCH] chunk: set idx before flushing\n\nThe index must be set first.\n\n"
        "Signed-off-by: Bob Lind <bob@example.com>\n---\ndiff --git a/chunk.c b/chunk.c\n+\tc->idx = 0;\n"
    )
    parts = split_reply(counter)
    assert parts.text == counter.strip() and parts.quoted_text == ""
    docs = "Update the docs.\n---\n@@ -1,3 +1,3 @@\n Knobs:\n-- \n+- `flush.retries`\n \n-- \n2.39.1\n"
    assert split_reply(docs).signature == "--\n2.39.1"
    review = "Quoting Ana Ruiz (2023-02-06 01:12:01)\n> It leaks on error.\n\nReviewed-by: Bob Lind <bob@example.com>"
    parts = split_reply(review)
    assert parts.text == "Reviewed-by: Bob Lind <bob@example.com>"
    assert parts.quoted_text.startswith("Quoting Ana Ruiz (2023-02-06 01:12:01)")


def test_a_notifications_heading_underline_and_footers_in_its_words() -> None:
    """Sentry's alert underlines "Exception" and its traceback was folded away as a signature; GitLab's
    "---" footer, Google's "You have received this email because…" and a last "Unsubscribe: <url>"
    stayed in the text, the snippet reaching them."""
    sentry = "New issue.\n\nException\n-----------\n\nTraceback (most recent call last):\nKeyError: 'region'\n\n"
    parts = split_reply(sentry + "Unsubscribe: https://sentry.example.org/unsubscribe/1/")
    assert parts.text == sentry.strip() and parts.signature == "Unsubscribe: https://sentry.example.org/unsubscribe/1/"
    gitlab = (
        "Pipeline failed.\n\n---\nReply to this email directly or view it on GitLab: https://gitlab.example.org/1\n"
    )
    assert split_reply(gitlab + "You're receiving this email because of your account.").text == "Pipeline failed."
    google = "Looks good.\n\nYou have received this email because you are a collaborator on the document."
    assert split_reply(google).text == "Looks good."
    assert split_reply("See you.\n\nBo Berg\n-------\nACME Ltd | www.acme.example").text == "See you.\n\nBo Berg"


def test_sentences_under_a_divider_or_a_headings_underline_are_the_authors() -> None:
    """A "=====" under a title and sentences below it read as a separator and its footer, and the
    author's whole section was folded away as a signature; a company's block below the message,
    its slogan a sentence, is a footer still."""
    c = analysed_fixture("sections-under-divider-lines.eml").content
    assert c.text == (
        "Release notes for 2.4\n==========================\nFixed the login bug and the export crash.\n"
        "Please test on staging today.\n\nAna"
    )
    assert c.signature == "_" * 30 + "\nACME Tools | www.acme.example\nBuilding better tools since 1998."
    notice = "_" * 30 + "\nThis e-mail is confidential. If you are not the intended recipient, delete it."
    assert split_reply(f"Agreed.\n\n{notice}").signature == notice


@pytest.mark.parametrize("delimiter", ["--", "-- ", "--  ", "--\t"])
def test_dash_dash_with_any_trailing_blanks_is_the_delimiter(delimiter: str) -> None:
    """Horde writes "--  " with two spaces; editors leave a tab."""
    parts = split_reply(f"Thanks!\n\n{delimiter}\nThis is a signature.\n\nWith rich text.\n")
    assert (parts.text, parts.signature) == ("Thanks!", "--\nThis is a signature.\n\nWith rich text.")


def test_dash_dash_signature_delimiter() -> None:
    parts = split_reply("Thanks!\n\n-- \nJane Roe\nACME Corp")
    assert (parts.text, parts.signature) == ("Thanks!", "-- \nJane Roe\nACME Corp".replace("-- ", "--"))


def test_crlf_line_endings() -> None:
    parts = split_reply("Yes.\r\n\r\nOn Mon, Mar 2, 2026 at 9:00 AM, X <x@example.com> wrote:\r\n> Q?\r\n")
    assert parts.text == "Yes."


def test_thread_split_walks_the_history() -> None:
    text = (
        "Third.\n\nOn Tue, Mar 3, 2026 at 9:00 AM, B <b@example.com> wrote:\n> Second.\n>\n"
        "> On Mon, Mar 2, 2026 at 9:00 AM, A <a@example.com> wrote:\n>> First.\n"
    )
    parts = split_thread(text)
    assert [p.body for p in parts] == ["Third.", "> Second.", ">> First."]
    assert parts[2].header.startswith("> On Mon")


def test_a_megabyte_of_quote_markers_is_fast() -> None:
    text = "Reply\n" + ">" * 1_000_000
    start = time.perf_counter()
    split_reply(text)
    split_reply("Reply\n" + "> line\n" * 150_000)
    assert time.perf_counter() - start < 2.0


def test_a_long_line_without_newlines_is_fast() -> None:
    start = time.perf_counter()
    split_reply("On " + "a " * 500_000 + "wrote")
    split_reply("x" * 1_000_000 + " wrote:")
    split_reply_html("<div>" + "On 1 x <a@b.c> " * 50_000 + "</div>")
    assert time.perf_counter() - start < 2.0


def test_deeply_nested_html_does_not_recurse() -> None:
    html = "<div>" * 30_000 + "text" + "<blockquote type=cite>q</blockquote>" + "</div>" * 30_000
    new, quoted = split_reply_html(html)
    assert "text" in html_to_text(new) and "q" in html_to_text(quoted)


def test_html_inline_reply_is_not_cut_at_the_first_quote() -> None:
    html = (
        "<div>Hi</div><blockquote type='cite'>Question one?</blockquote><div>Answer one.</div>"
        "<blockquote type='cite'>Rest of the old mail</blockquote>"
    )
    new, quoted = split_reply_html(html)
    assert "Answer one." in html_to_text(new)
    assert html_to_text(quoted).endswith("> Rest of the old mail")


def test_html_without_quote_is_unchanged() -> None:
    assert split_reply_html("<p>Just text</p>") == ("<p>Just text</p>", "")


def test_footnotes_under_a_rule_are_not_a_signature() -> None:
    parts = split_reply("See the docs [1].\n\n---\n[1] https://example.org/docs\n\n-- \nJane")
    assert parts.text == "See the docs [1].\n\n---\n[1] https://example.org/docs"
    assert parts.signature == "--\nJane"


def test_mailing_list_footer_is_signature() -> None:
    text = (
        "Works now.\n\n_______________________________________________\nteam mailing list\nhttps://lists.example.org/"
    )
    parts = split_reply(text)
    assert parts.text == "Works now."
    assert parts.signature.endswith("https://lists.example.org/")


_NEXT_PART = "-------------- next part --------------\n"
_PDF_NOTICE = (
    "A non-text attachment was scrubbed...\nName: plan.pdf\nType: application/pdf\nSize: 48213 bytes\n"
    "Desc: not available\nURL: <http://lists.example.com/pipermail/team/attachments/20260302/4f2a81c0/plan.pdf>\n"
)
_HTML_NOTICE = "An HTML attachment was scrubbed...\nURL: <http://lists.example.com/a/9c1d2e3f/attachment.html>\n"


def test_the_notices_of_parts_a_list_scrubbed_are_set_apart_as_a_footer() -> None:
    """Mailman's text archives (and lists that scrub what they deliver) end a message so."""
    parts = split_reply("Comments by Friday.\n\nAnn\n" + _NEXT_PART + _PDF_NOTICE + "\n" + _NEXT_PART + _HTML_NOTICE)
    assert parts.text == "Comments by Friday.\n\nAnn"
    assert parts.signature == (_NEXT_PART + _PDF_NOTICE + "\n" + _NEXT_PART + _HTML_NOTICE).strip()


def test_a_part_the_scrubber_kept_as_text_stays_the_authors() -> None:
    kept = "Comments by Friday.\n" + _NEXT_PART + "line 12: travel 4,000\nline 13: rooms 2,000\n"
    parts = split_reply(kept + _NEXT_PART + _HTML_NOTICE)
    assert parts.text == kept.strip()
    assert parts.signature == (_NEXT_PART + _HTML_NOTICE).strip()


def test_scrubbed_notices_under_the_quote_are_no_history() -> None:
    quote = "On Mon, Mar 2, 2026 at 10:00 AM Ann Smith <ann.smith at example.com> wrote:\n> Comments by Friday.\n"
    parts = split_reply("Looks good.\n\n" + quote + _NEXT_PART + _HTML_NOTICE)
    assert (parts.text, parts.quoted_text) == ("Looks good.", quote.strip())
    assert parts.signature == (_NEXT_PART + _HTML_NOTICE).strip()


def test_the_html_loses_the_signature_the_text_split_found() -> None:
    html = '<div dir="ltr">See you at 10.<br><br><div class="gmail_signature">Bo Berg<br>ACME Ltd</div></div>'
    assert html_to_text(without_signature(html, "Bo Berg\nACME Ltd")) == "See you at 10."
    plain = "<p>See you at 10.</p><p>Regards,<br>Bo</p>"
    assert html_to_text(without_signature(plain, "Regards,\nBo")) == "See you at 10."
    # Gmail writes the "-- " line above its signature's element: the post ended in "--"
    dashed = '<div dir="ltr">See you at 10.<br><div><br></div>-- <br><div class="gmail_signature">Bo Berg</div></div>'
    assert html_to_text(without_signature(dashed, "--\nBo Berg")) == "See you at 10."


@pytest.mark.parametrize("link", ["<https://aka.ms/AAb9ysg>", " [https://aka.ms/AAb9ysg]", "https://aka.ms/AAb9ysg"])
def test_the_html_loses_an_app_line_whose_link_the_text_part_wrote_in_any_form(link: str) -> None:
    html = '<div>Leuk gedaan!</div><div>Verzonden vanaf <a href="https://aka.ms/AAb9ysg">Outlook voor Android</a></div>'
    parts = split_reply(f"Leuk gedaan!\n\nVerzonden vanaf Outlook voor Android{link}")
    assert parts.text == "Leuk gedaan!"
    assert html_to_text(without_signature(html, parts.signature)) == "Leuk gedaan!"


def test_the_html_keeps_a_signature_whose_cut_would_drop_new_text() -> None:
    html = "<p>Regards,</p><p>" + "the new text goes on " * 20 + "</p><p>Bo</p>"
    assert without_signature(html, "Regards,\nBo") == html


def test_a_first_paragraph_that_only_starts_like_a_banner_stays() -> None:
    text = "Caution: the floor on level 2 is wet.\n\nUse the east stairs today."
    assert split_reply(text).text == text


def test_an_authors_short_confidentiality_remark_is_no_disclaimer() -> None:
    text = "Here are the figures for the board.\n\nPlease keep them confidential until Friday."
    assert split_reply(text).text == text


def test_answers_tagged_inside_an_outlook_quote_stay_and_the_rest_is_history() -> None:
    quote = "From: Bo <bo@example.com>\nSent: Monday\nTo: Ana\nSubject: Plan\n\n"
    text = f"See below.\n\n{quote}Thursday? [Ana] Yes.\nBig room? [Ana] No, small.\n\nThanks,\nBo"
    parts = split_reply(text)
    assert parts.text.endswith("Big room? [Ana] No, small.") and parts.quoted_text == "Thanks,\nBo"


def test_a_gateway_tag_in_quoted_subjects_is_no_inline_answer() -> None:
    older = "From: Bo <bo@example.com>\nSent: Monday\nTo: Ana\nSubject: [EXTERNAL] Plan\n\n[EXTERNAL] Hi.\n\n"
    text = f"Fine by me.\n\n{older}{older}[EXTERNAL] Bye."
    assert split_reply(text).text == "Fine by me."


OUTLOOK_LABELS = {
    "Greek": ("Από", "Στάλθηκε", "Προς", "Θέμα"),
    "Romanian": ("De la", "Trimis", "Către", "Subiect"),
    "Croatian": ("Šalje", "Poslano", "Prima", "Predmet"),
    "Serbian": ("Od", "Poslato", "Za", "Tema"),
    "Slovak": ("Od", "Odoslané", "Komu", "Predmet"),
    "Slovenian": ("Od", "Poslano", "Za", "Zadeva"),
    "Bulgarian": ("От", "Изпратено", "До", "Относно"),
    "Hebrew": ("מאת", "נשלח", "אל", "נושא"),
    "Arabic": ("من", "تم الإرسال", "إلى", "الموضوع"),
    "Vietnamese": ("Từ", "Đã gửi", "Đến", "Chủ đề"),
    "Indonesian": ("Dari", "Dikirim", "Kepada", "Subjek"),
    "Thai": ("จาก", "ส่ง", "ถึง", "เรื่อง"),
    "Catalan": ("De", "Enviat", "Per a", "Assumpte"),
    "Ukrainian": ("Від", "Надіслано", "Кому", "Тема"),
    "Lithuanian": ("Nuo", "Išsiųsta", "Kam", "Tema"),
    "Estonian": ("Saatja", "Saadetud", "Adressaat", "Teema"),
}


@pytest.mark.parametrize("language", sorted(OUTLOOK_LABELS))
def test_outlook_header_block_in_more_languages_is_history_in_a_reply_and_the_original_in_a_forward(
    language: str,
) -> None:
    sender, sent, to, subject = OUTLOOK_LABELS[language]
    block = (
        f"{sender}: Ops Team <ops@example.com>\n{sent}: 2 March 2026 20:13\n{to}: Otto Prem <otto@example.org>\n"
        f"{subject}: Server maintenance\n\nMaintenance window is Saturday."
    )
    parts = split_reply(f"Yes, agreed.\n\n{block}")
    assert (parts.text, parts.quoted_text) == ("Yes, agreed.", block)
    found = unwrap_text(f"FYI\n\n{block}", subject="Fwd: Server maintenance")
    assert found is not None
    assert (found.author.address, found.subject, found.text, found.note) == (
        "ops@example.com",
        "Server maintenance",
        "Maintenance window is Saturday.",
        "FYI",
    )


@pytest.mark.parametrize(
    "closing",
    [
        "Με εκτίμηση,",
        "Cu stimă,",
        "Lijep pozdrav,",
        "S poštovanjem,",
        "S pozdravom,",
        "Lep pozdrav,",
        "Поздрави,",
        "З повагою,",
        "בברכה,",
        "مع تحياتي،",
        "Trân trọng,",
        "Hormat saya,",
        "ขอแสดงความนับถือ",
        "Salutacions,",
        "Pagarbiai,",
        "Lugupidamisega,",
        "Ar cieņu,",
        "Üdvözlettel,",
        "Med vänliga hälsningar,",
        "Selamlar,",
    ],
)
def test_sign_offs_in_the_languages_whose_headers_are_read_start_the_signature(closing: str) -> None:
    parts = split_reply(f"The invoice is attached.\n\n{closing}\nJana Nováková")
    assert (parts.text, parts.signature) == ("The invoice is attached.", f"{closing}\nJana Nováková")


@pytest.mark.parametrize(
    "closing",
    [
        "Bien cordialement,",
        "Très cordialement,",
        "Merci d'avance,",
        "Cordialmente,",
        "Muchas gracias,",
        "Obrigada,",
        "Un caro saluto,",
        "Grazie mille,",
        "Groetjes,",
        "Hartelijke groeten,",
        "Grt.",
        "Gr.",
        "Dank je wel,",
        "Vielen Dank!",
        "Danke im Voraus,",
        "Servus",
        "Freundliche Grüsse",  # Swiss German writes "ss" for "ß"
        "Mit freundlichen Grüssen",
        "Gruss",
        "Take care,",
        "Talk soon,",
        "Rgds,",
        "Thx,",
        "Ciao,",
    ],
)
def test_everyday_closings_start_the_signature(closing: str) -> None:
    """Closings as common as "Best regards" in everyday team mail, in English and the languages around it."""
    parts = split_reply(f"The room is booked for Thursday at ten.\n\n{closing}\nAnn Author")
    assert (parts.text, parts.signature) == ("The room is booked for Thursday at ten.", f"{closing}\nAnn Author")


@pytest.mark.parametrize(
    "signature",
    [
        # a company's block under the name: longer than a sign-off's few lines, with contact details
        "Kind regards,\n\nAna Lima\nHead of Operations\nACME Ltd\n1 High Street, London EC1A 1AA\n"
        "T: +44 20 7946 0000 | M: +44 7700 900000\nwww.acme.example\n[cid:image001.png@01DA1234.56789AB0]",
        "--Ana",
        "   -- Jan",  # notmuch's list
        "Best wishes\nAna\n\nThis message was sent from my mobile device. Please excuse typos.",
        "Sent from my iPhone. Please excuse brevity.",
        # the closing and the name on one line
        "Thanks, Ana",
        "Cheers, Bo",
        "Best, Ana Lima",
        "Thx, A.",
        "Danke, Jana",
        "Best regards, Ana Lima\nHead of Operations | ACME Ltd\nT: +44 20 7946 0000\nwww.acme.example",
        # the whole block on one line; a closing in two languages
        "Best regards,\n\nAna Lima | Head of Operations | ACME Ltd | +44 20 7946 0000",
        "Mit freundlichen Grüßen / Kind regards\n\nJana Vogel\nDisposition",
    ],
)
def test_company_blocks_dash_names_and_mobile_excuses_are_the_signature(signature: str) -> None:
    parts = split_reply(f"The room is booked for Thursday at ten.\n\n{signature}\n")
    assert (parts.text, parts.signature) == ("The room is booked for Thursday at ten.", signature.strip("\n"))


@pytest.mark.parametrize("last", ["Thanks, Bo!", "Thanks, see you Monday", "Thanks, Monday works", "Cheers, everyone"])
def test_a_closing_words_that_are_no_name_or_thank_someone_stay_the_authors(last: str) -> None:
    text = f"The room is booked for Thursday at ten.\n\n{last}"
    assert split_reply(text).text == text


def test_lines_under_a_closing_that_no_name_heads_stay_the_authors() -> None:
    text = (
        "The room is booked.\n\nThanks\nthe agenda, in order:\n1. Budget (Ana, ana@example.com)\n2. Hiring\n"
        "3. Office move\n4. Travel\n5. Anything else"
    )
    assert split_reply(text).text == text
    links = "The report is attached.\n\nThanks\nhere are the links\n" + "\n".join(
        f"https://files.example.com/q{n}" for n in range(1, 6)
    )
    assert split_reply(links).text == links  # a sentence above them: the author's links, no contact block


def test_a_signature_below_quoted_history_is_the_repliers() -> None:
    """Thunderbird can put the signature below the quote, and lists add their footer there."""
    header = "On Mon, 2 Mar 2026 at 09:00, Ann <ann@example.com> wrote:"
    text = f"Yes, Friday works.\n\n{header}\n> Friday?\n> -- \n> Ann\n\n-- \nJo Keller\nFacilities\n"
    parts = split_reply(text)
    assert (parts.text, parts.signature) == ("Yes, Friday works.", "--\nJo Keller\nFacilities")
    assert parts.quoted_text == f"{header}\n> Friday?\n> --\n> Ann"


def test_a_signature_block_in_history_quoted_without_marks_stays_the_original_authors() -> None:
    """Outlook quotes with no ">": a "-- " block below its header block is the original's."""
    text = "Yes.\n\n-----Original Message-----\nFrom: Ann\nSent: Monday\nSubject: Friday\n\nFriday?\n\n-- \nAnn\n"
    parts = split_reply(text)
    assert (parts.text, parts.signature) == ("Yes.", "")
    assert parts.quoted_text.endswith("Friday?\n\n--\nAnn")


def test_app_lines_and_attributions_are_matched_in_linear_time_on_any_line() -> None:
    # the callers cut a line to 80 characters, but a pattern must not rely on it: "sent with tuta"
    # then 100,000 spaces and a letter took 75 s while the link, the excuse, the bracket and the
    # line's end each had a "\s*"
    lines = [f"{start}{' ' * 100_000}x" for start in ("sent with tuta", "(sent from my phone", "get outlook for ios")]
    lines += [f"{start}{' ' * 100_000}" for start in ("Bo Berg", "Bo Berg wrote")]
    start = time.perf_counter()
    for line in lines:
        assert C.MOBILE_LINE.match(line) is None
        assert P.NAME_WROTE.match(line) is None
    assert time.perf_counter() - start < 2.0
    # an address before "schrieb": each "@" of a run of them once scanned 255 characters on (1.4 s)
    start = time.perf_counter()
    assert P.ADDRESS_THEN_MARKER.search("@" * 100_000) is None
    assert time.perf_counter() - start < 0.5


def test_an_outlook_header_with_a_blank_line_between_its_fields_starts_the_history() -> None:
    """Outlook's HTML header made text puts each field in a paragraph of its own: the whole quoted
    message stayed in the text, and the quoted author's closing was taken for the signature."""
    header = (
        "From: Bo Berg <bo@example.com>\n\nSent: Monday, March 2, 2026 10:00 AM\n\n"
        "To: Ana Lima <ana@example.org>\n\nSubject: Re: Room booking"
    )
    parts = split_reply(f"Done, room 4 is ours.\n\n\n{header}\n\n\nCould you book a room?\n\nKind regards,\nBo\n")
    assert (parts.text, parts.signature) == ("Done, room 4 is ours.", "")
    assert parts.quoted_text.startswith(header)
    trip = "Train booked.\n\nFrom: Berlin Hbf 08:15\n\nTo: München Hbf 12:45\n\nSee you there."
    assert split_reply(trip).text == trip  # two fields apart are no header block
    # nor two together with no address and no date field: the itinerary was cut off as history
    assert split_reply(trip.replace("08:15\n\nTo:", "08:15\nTo:")).text == trip.replace("08:15\n\nTo:", "08:15\nTo:")
    assert split_reply("Yes.\n\nFrom: Bo Berg <bo@example.com>\nTo: Ana\n\n> Lunch?").text == "Yes."


def test_one_closing_per_signature_a_thank_you_above_the_authors_last_lines_is_theirs() -> None:
    """The signature was peeled closing by closing: "Thank you" on line two took the whole message
    below it into the signature, "Thank you again," and the name included."""
    parts = split_reply("Hi,\n\nThank you\n\nThe report is attached.\n\nThe slides follow.\n\nThank you again,\nName")
    assert parts.text == "Hi,\n\nThank you\n\nThe report is attached.\n\nThe slides follow."
    assert parts.signature == "Thank you again,\nName"
