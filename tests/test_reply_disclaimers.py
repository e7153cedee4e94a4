"""Legal notices and footers a company's server adds under its people's mail, in the languages
mailfeed reads reply headers in, and the footers of services' notifications: folded with the
signature, never shown as what the author wrote.

Each notice here is the kind such servers add (confidentiality, "received in error", "think of
the environment before printing", the company register); each negative case is a sentence an
author could write with the same words, which must stay in the text.
"""

from __future__ import annotations

import time

import pytest

from gateway.reply import split_reply

NOTICES = {
    "de": (
        "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie nicht der "
        "richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den "
        "Absender und vernichten Sie diese E-Mail. Das unerlaubte Kopieren sowie die unbefugte Weitergabe "
        "dieser E-Mail ist nicht gestattet."
    ),
    "fr": (
        "Ce message et toutes les pièces jointes sont confidentiels et établis à l'intention exclusive de ses "
        "destinataires. Toute utilisation ou diffusion non autorisée est interdite. Si vous avez reçu ce "
        "message par erreur, merci d'en avertir immédiatement l'expéditeur et de le détruire."
    ),
    "es": (
        "Este mensaje y sus archivos adjuntos van dirigidos exclusivamente a su destinatario, pudiendo contener "
        "información confidencial sometida a secreto profesional. Si ha recibido este mensaje por error, le "
        "rogamos que lo comunique inmediatamente por esta misma vía y proceda a su destrucción."
    ),
    "pt": (
        "Esta mensagem e os seus anexos podem conter informação confidencial ou privilegiada. Se você não é o "
        "destinatário ou recebeu esta mensagem por engano, por favor avise imediatamente o remetente e apague-a "
        "do seu sistema."
    ),
    "it": (
        "Le informazioni contenute in questa comunicazione e negli eventuali allegati possono essere riservate "
        "e sono destinate esclusivamente alle persone o alla società sopraindicate. Qualora questo messaggio vi "
        "fosse pervenuto per errore, vi preghiamo di eliminarlo e di darne comunicazione al mittente."
    ),
    "nl": (
        "Dit e-mailbericht is uitsluitend bestemd voor de geadresseerde(n) en kan vertrouwelijke informatie "
        "bevatten. Indien u dit bericht ten onrechte heeft ontvangen, wordt u verzocht de afzender direct te "
        "informeren en het bericht te verwijderen."
    ),
    "sv": (
        "Detta e-postmeddelande kan innehålla konfidentiell information och är endast avsett för adressaten. "
        "Om du har fått detta meddelande av misstag, vänligen meddela avsändaren och radera meddelandet."
    ),
    "da": (
        "Denne e-mail kan indeholde fortrolige oplysninger og er kun beregnet til modtageren. Hvis du har "
        "modtaget denne e-mail ved en fejl, bedes du straks underrette afsenderen og slette e-mailen."
    ),
    "pl": (
        "Treść tej wiadomości jest poufna i prawnie chroniona. Odbiorcą może być jedynie jej adresat z "
        "wyłączeniem dostępu osób trzecich. Jeżeli nie są Państwo adresatem tej wiadomości, a otrzymali ją "
        "Państwo przez pomyłkę, prosimy o powiadomienie nadawcy i usunięcie wiadomości."
    ),
    "ja": (
        "このメールには機密情報が含まれている可能性があります。誤って受信された場合は、直ちに送信者にご連絡いただく"
        "とともに、本メールを削除してください。"
    ),
    "zh": (
        "本邮件及其附件含有机密信息，仅限于发送给上面地址中列出的个人或群组。"
        "如果您错收了本邮件，请您立即通知发件人并删除本邮件！"
    ),
}

REPLY = "Thursday at 10:00 works for me; I will bring the printed plans."


@pytest.mark.parametrize("lang", sorted(NOTICES))
def test_a_legal_notice_under_the_message_goes_with_the_signature(lang: str) -> None:
    parts = split_reply(f"{REPLY}\n\n{NOTICES[lang]}\n")
    assert parts.text == REPLY
    assert parts.signature == NOTICES[lang]


@pytest.mark.parametrize("lang", sorted(NOTICES))
def test_a_legal_notice_above_the_quoted_history_leaves_the_history_alone(lang: str) -> None:
    quote = "Am 9. März 2026 um 10:00 schrieb Bo Berg <bo@example.com>:\n> Does Thursday suit you?\n"
    parts = split_reply(f"{REPLY}\n\n{NOTICES[lang]}\n\n{quote}")
    assert parts.text == REPLY
    assert parts.signature == NOTICES[lang]
    assert parts.quoted_text.startswith("Am 9. März 2026") and parts.quoted_text.endswith("Does Thursday suit you?")


@pytest.mark.parametrize(
    "line",
    [
        "Bitte denken Sie an die Umwelt, bevor Sie diese E-Mail ausdrucken.",
        "Pensez à l'environnement avant d'imprimer ce message.",
        "Antes de imprimir este mensaje, piense en el medio ambiente.",
        "Antes de imprimir, pense no meio ambiente.",
        "Rispetta l'ambiente: non stampare questa e-mail se non è necessario.",
        "Denk aan het milieu voordat u deze e-mail print.",
        "Tänk på miljön innan du skriver ut detta mejl.",
        "Tænk på miljøet, før du udskriver denne e-mail.",
        "Zanim wydrukujesz tę wiadomość, pomyśl o środowisku.",
        "Acme B.V. | KvK 12345678 | Keizersgracht 1, Amsterdam",
        "Acme ApS, CVR-nr. 12345678",
        "Acme AB, Org.nr 556677-8899, Stockholm",
        "Acme S.r.l. - P.IVA 01234567890",
        "Acme SAS au capital de 10 000 €, RCS Paris 123 456 789",
        "Acme S.L., inscrita en el Registro Mercantil de Madrid, CIF B12345678",
        "Acme Sp. z o.o., KRS 0000123456, NIP 123-456-78-90",
        "Acme Ltda. CNPJ 12.345.678/0001-90",
        # the particulars a German company prints: register court and number, directors, board
        "Acme GmbH, Amtsgericht München HRB 123456",
        "Sitz Köln, Amtsgericht Köln, HRA 98765",
        "Geschäftsführer: Anna Berg, Jan Roth",
        "Geschäftsführung: Anna Berg",
        "Vorstand: Jan Roth (Vorsitzender), Anna Berg",
        "Persönlich haftende Gesellschafterin: Acme Verwaltungs GmbH",
    ],
)
def test_a_printing_or_register_line_under_the_message_goes_with_the_signature(line: str) -> None:
    parts = split_reply(f"{REPLY}\n\n{line}\n")
    assert parts.text == REPLY
    assert parts.signature == line


@pytest.mark.parametrize(
    "last",
    [
        "Bitte behandelt die Zahlen bis Freitag vertraulich.",  # short: a sentence, not a notice
        # long, and with words notices use, but none of theirs: an author's own paragraph
        "Ho prenotato la sala riunioni riservata al terzo piano per giovedì dalle 10 alle 12; portate i portatili "
        "e le slide aggiornate, grazie mille a tutti.",
        "Omyłkowo wysłałem wczoraj starą wersję planu, więc proszę korzystać tylko z tej poprawionej, którą "
        "załączam teraz do tej wiadomości.",
        "Ik heb de kamer van de directeur geboekt voor donderdag; het milieu-rapport bespreken we daarna, dus "
        "neem allemaal je eigen aantekeningen mee.",
        "De nieuwe P.IVA-regels gelden pas vanaf volgend jaar, dus voor deze factuur verandert er niets; ik stuur "
        "hem vandaag nog door.",
        "Der Vorstand hat den Plan gestern genehmigt, die Geschäftsführung informiert morgen alle Teams.",
    ],
)
def test_an_authors_own_last_paragraph_with_such_words_stays_in_the_text(last: str) -> None:
    text = f"Hi all,\n\nthe plans for Thursday are attached.\n\n{last}"
    assert split_reply(text).text == text


@pytest.mark.parametrize(
    "footer",
    [
        "This message was sent by Atlassian Jira (v9.12.1#9120001-sha1:0f3c1a2)",
        "This email was sent to you by Slack. Manage notification settings: https://slack.com/account/notifications",
        "Unsubscribe | Manage preferences | View in browser",
        "You are receiving this because you were mentioned.",
    ],
)
def test_a_services_notification_footer_goes_with_the_signature(footer: str) -> None:
    parts = split_reply(f"Bo Berg commented on APP-42:\n\nDeploy is scheduled for Friday.\n\n{footer}\n")
    assert parts.text == "Bo Berg commented on APP-42:\n\nDeploy is scheduled for Friday."
    assert parts.signature == footer


def test_an_author_saying_they_can_view_it_in_the_browser_keeps_it() -> None:
    text = "Hi all,\n\nthe dashboard works again.\n\nYou can view it in your browser now, thanks."
    assert split_reply(text).text == text


def test_a_notice_word_before_a_long_run_of_spaces_is_read_in_linear_time() -> None:
    # "CIF" then 20,000 spaces took 1.9 s before the gap before the number was bounded; 100,000 a minute
    start = time.perf_counter()
    for word in ("CIF", "KvK", "NIP", "CNPJ", "KRS", "P.IVA", "Org.nr", "CVR", "Manage", "View"):
        split_reply(f"Hi all,\n\nthe plan.\n\n{word}{' ' * 100_000}!")
    assert time.perf_counter() - start < 2.0


def test_a_german_closing_over_a_company_block_spaced_by_blank_lines_and_its_particulars_is_the_signature() -> None:
    """ "Mit freundlichem Gruß", the name, the department, the address, the numbers, each a paragraph of
    its own, then the company's particulars: all of it was shown as the author's text."""
    signature = (
        "Mit freundlichem Gruß\n\nJohn Smith\nService und Support\n\nExample Service AG & Co. OHG\n"
        "Hafenstraße 4\n20457 Hamburg\n\nTel.: +49 40 1234 5600\nFax: +49 40 1234 5601\n"
        "john.smith@example.com\nwww.example.com\n\nOHG mit Sitz in Hamburg, Amtsgericht Hamburg HRA 12345\n"
        "Geschäftsführung: Tilman Berg, Ulrich Roth\n\nPersönlich haftende Gesellschafterin:\n"
        "Example Service AG, Hamburg\nVorstand: Marie Berg"
    )
    parts = split_reply(f"{REPLY}\n\n{signature}\n")
    assert parts.text == REPLY
    assert parts.signature == signature


def test_a_company_block_of_up_to_fourteen_lines_under_a_closing_is_the_signature() -> None:
    """Name, department, company, address, three numbers and the web: twelve lines, and they stayed."""
    signature = (
        "Mit freundlichen Grüßen\n\nAlex Smith\n\nAbteilung IT-Strategie, Steuerung & Support\n"
        "im Bereich Informationstechnologie\n\nExample GmbH\n(Deutsche Example)\nLangstraße 5\n"
        "60311 Frankfurt am Main\n\nTelefon: (069) 11 1111 – 113\nTelefon ServiceDesk: (069) 11 1111 – 122\n"
        "Telefax: (069) 11 1111 – 148\nInternet: www.example.com"
    )
    parts = split_reply(f"{REPLY}\n\n{signature}\n")
    assert (parts.text, parts.signature) == (REPLY, signature)


def test_a_postscript_with_a_question_or_a_list_under_the_closing_is_the_authors() -> None:
    """A name, then a link and a number, as a company block has: but a list and a question are a message."""
    postscript = (
        "Thanks,\nAna\n\nP.S. the agenda for the call:\n1. Budget\n2. Hiring\n"
        "3. Offsite, see https://example.com/offsite\nCan you all make it?\nDial-in: +44 20 7946 0000"
    )
    parts = split_reply(f"{REPLY}\n\n{postscript}\n")
    assert parts.text == f"{REPLY}\n\n{postscript}"
