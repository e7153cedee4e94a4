"""Text no author wrote, one fixture each, through the real analysis step.

Mail gateways put banners at the top of a message (Microsoft 365's first-contact
safety tip, a tenant's external-sender caution, Proofpoint's warning tag and its
"[EXTERNAL]" subject tag); servers and lists put footers at the bottom (legal
disclaimers, antivirus stamps, Mailman and Google Groups footers).

What a reader sees, decided here:
- a banner is dropped: it speaks to the mailbox that received the message, not
  to the feed's readers, and it is not the author's, so it is in none of text,
  signature, quoted history or HTML (there is no field for it, and folding it
  with the signature would pass it off as the author's);
- the subject is the one the author wrote, without the gateway's tag;
- a footer or disclaimer is kept, folded apart with the signature, as the
  author's company or list put it there on the author's behalf.
"""

from __future__ import annotations

import pytest

from gateway.html_text import html_to_text
from tests.helpers import analysed, analysed_fixture, html_of, make_mail


def test_m365_first_contact_safety_tip_is_dropped_from_text_and_html() -> None:
    content = analysed_fixture("m365-first-contact-banner.eml").content
    words = (
        "I'm your new contact at the print shop. "
        "The flyers for the open day are ready; you can pick them up from Thursday, 9:00 to 17:00."
    )
    assert content.text == f"Hi all,\n\n{words}"
    assert content.signature == "Bo Berg\nPrint & Copy Centre\nT: +44 161 496 0123"
    assert content.quoted_text == ""
    assert html_to_text(html_of(content)) == f"Hi all,\n\n{words}"


def test_m365_external_caution_banner_is_dropped_from_text_and_html() -> None:
    content = analysed_fixture("m365-external-caution-banner.eml").content
    words = (
        "the replacement parts for the two label printers shipped today, "
        "tracking number 1Z 999 AA1 01 2345 6784. They should arrive on Wednesday."
    )
    assert content.text == f"Hello,\n\n{words}"
    assert content.signature == "Best regards,\nCarl Dahl"
    assert content.quoted_text == ""
    assert html_to_text(html_of(content)) == f"Hello,\n\n{words}"


def test_proofpoint_external_sender_tag_and_its_hidden_preheader_are_dropped() -> None:
    content = analysed_fixture("mimecast-or-proofpoint-external-banner.eml").content
    assert content.text == (
        "Hi all,\n\nthe caterer confirmed 40 lunches for Thursday, vegetarian options included.\n"
        "The invoice will follow next week.\n\nDana"
    )
    assert content.signature == ""
    assert content.quoted_text == ""
    # the preheader and the ZjQcmQRYFpfptBanner markers are display:none in the mail; shown they must not be
    assert html_to_text(html_of(content)) == (
        "Hi all,\n\nthe caterer confirmed 40 lunches for Thursday, vegetarian options included. "
        "The invoice will follow next week.\n\nDana"
    )


def test_external_subject_tag_added_by_the_gateway_is_not_the_subject() -> None:
    content = analysed_fixture("mimecast-or-proofpoint-external-banner.eml").content
    assert content.subject == "Catering for Thursday"


@pytest.mark.parametrize(
    ("subject", "shown"),
    [
        ("[EXT] Catering for Thursday", "Catering for Thursday"),
        ("[EXTERN] Catering for Thursday", "Catering for Thursday"),
        ("[EXTERNE] Traiteur jeudi", "Traiteur jeudi"),
        ("[EXTERNO] Catering para el jueves", "Catering para el jueves"),
        ("[External Mail] Catering for Thursday", "Catering for Thursday"),
        ("EXTERNAL: Catering for Thursday", "Catering for Thursday"),
        # the author's own words stay
        ("External: audit dates", "External: audit dates"),
        ("[team] Catering for Thursday", "[team] Catering for Thursday"),
    ],
)
def test_gateways_external_tags_in_several_wordings_are_not_the_subject(subject: str, shown: str) -> None:
    assert analysed(make_mail(message_id="tag@example.com", subject=subject)).content.subject == shown


def test_legal_disclaimer_under_the_signature_is_folded_with_it() -> None:
    content = analysed_fixture("legal-disclaimer-footer.eml").content
    words = (
        "the signed lease for the new Leeds office is in the shared drive under Contracts/2026. "
        "Keys will be handed over on 1 April at 10:00."
    )
    assert content.text == f"Hi team,\n\n{words}"
    assert content.signature == (
        "Kind regards,\nCarl Dahl\nFacilities Manager | Northfield Estates Ltd\n+44 113 496 0871\n\n"
        "This email and any attachments are confidential and may be legally privileged. If you are not the "
        "intended recipient, please notify the sender immediately by return email and delete this message and "
        "any attachments from your system; you must not copy, forward, disclose or otherwise use any part of it."
        "\n\n"
        "Internet communications cannot be guaranteed to be secure or error-free. Northfield Estates Ltd does not "
        "accept liability for any loss or damage arising from this email or its attachments, including damage "
        "caused by viruses. Any views or opinions expressed are those of the author and do not necessarily "
        "represent those of Northfield Estates Ltd."
        "\n\n"
        "Northfield Estates Ltd is registered in England and Wales, company number 08123456. Registered office: "
        "4 Wharf Street, Leeds LS2 7EQ."
    )
    assert html_to_text(html_of(content)) == f"Hi team,\n\n{words}"


def test_german_legal_notice_under_the_signature_is_folded_with_it() -> None:
    content = analysed_fixture("german-legal-notice-footer.eml").content
    words = "die Lieferung für das Lager Süd kommt am Montag um 8:00 Uhr. Bitte haltet Rampe 3 frei."
    assert content.text == f"Hallo zusammen,\n\n{words}"
    assert content.signature.startswith("Viele Grüße\nJana Vogel\nDisposition\n\nDiese E-Mail enthält vertrauliche")
    assert content.signature.endswith("HRB 123456, Geschäftsführer: Tom Lange")
    assert html_to_text(html_of(content)) == f"Hallo zusammen,\n\n{words}"


def test_please_consider_the_environment_line_stays_with_the_signature() -> None:
    content = analysed_fixture("please-consider-environment.eml").content
    words = (
        "the fire alarm test is moved to Friday at 11:00. Please leave the building by the east stairs when it sounds."
    )
    assert content.text == f"Hi all,\n\n{words}"
    assert content.signature == (
        "Thanks,\nAna\n\nAna Lima | Office Coordinator\nExample Org | +49 30 1234567 | www.example.org\n\n"
        "Please consider the environment before printing this e-mail."
    )
    assert html_to_text(html_of(content)) == f"Hi all,\n\n{words}"


def test_avast_footer_below_a_dash_dash_signature_is_folded_with_it() -> None:
    content = analysed_fixture("antivirus-scanned-footer.eml").content
    assert content.text == (
        "Hi everyone,\n\nthe printer on the second floor is fixed; it needed a new fuser unit.\n"
        "Please send a test page before you print the newsletter."
    )
    assert content.signature == (
        "--\nJonas Berg\nIT Support, Example Org\n\n"
        "--\nThis email has been checked for viruses by Avast antivirus software.\nwww.avast.com"
    )
    # Avast's table goes with the moz-signature above it
    assert html_to_text(html_of(content)) == (
        "Hi everyone,\n\nthe printer on the second floor is fixed; it needed a new fuser unit. "
        "Please send a test page before you print the newsletter."
    )


def test_mailman_footer_part_is_folded_into_the_signature() -> None:
    content = analysed_fixture("mailman-list-footer.eml").content
    assert content.text == (
        "Hi all,\n\nthe minutes from Tuesday's meeting are in the wiki now. Two action points\n"
        "are still without an owner: the spring newsletter and the stall rota."
    )
    assert content.signature == (
        "Cheers,\nMaria\n\n_______________________________________________\n"
        "Team mailing list -- team@lists.example.org\nTo unsubscribe send an email to team-leave@lists.example.org"
    )
    # Mailman adds its footer as a text/plain part of its own, beside the untouched alternative
    assert html_to_text(html_of(content)) == (
        "Hi all,\n\nthe minutes from Tuesday's meeting are in the wiki now. Two action points "
        "are still without an owner: the spring newsletter and the stall rota."
    )


def test_google_groups_footer_is_the_signature_in_text_and_html() -> None:
    content = analysed_fixture("google-groups-footer.eml").content
    assert content.text == (
        "Hello everyone,\n\nthe bike repair workshop is on Saturday from 10:00 in the courtyard. Bring\n"
        "your own inner tubes if you can; we have tools and pumps.\n\nSee you there,\nJonas"
    )
    assert content.signature == (
        '--\nYou received this message because you are subscribed to the Google Groups "Team" group.\n'
        "To unsubscribe from this group and stop receiving emails from it, send an email to "
        "team+unsubscribe@example.org.\nTo view this discussion on the web visit "
        "https://groups.google.com/a/example.org/d/msgid/team/"
        "CAN7pQ4cW9xRt2vLm8sYk3bHd6jFz1gEoUa5nTiXw0qVrMhKp3C%40mail.gmail.com."
    )
    assert html_to_text(html_of(content)) == (
        "Hello everyone,\n\nthe bike repair workshop is on Saturday from 10:00 in the courtyard. Bring "
        "your own inner tubes if you can; we have tools and pumps.\n\nSee you there,\nJonas"
    )


def test_outlook_reply_under_a_first_contact_tip_shows_only_the_answer() -> None:
    content = analysed_fixture("reply-with-banner-and-quote.eml").content
    answer = "Thanks, the hall is booked for Saturday 14 March, 10:00 to 16:00. The keys are at the front desk.\n\nBo"
    assert content.forward is None
    assert content.text == answer
    assert content.signature == ""
    assert content.quoted_text == (
        "From: Ana Lima <team@example.org>\nSent: Monday, March 2, 2026 4:12 PM\nTo: Bo Berg <bo@example.com>\n"
        "Subject: Hall booking\n\nHi Bo,\n\ncould you book the hall for our volunteer day on 14 March?\n\nThanks,\nAna"
    )
    assert html_to_text(html_of(content)) == answer


def test_external_email_do_not_click_banner_in_a_table_is_dropped() -> None:
    content = analysed_fixture("external-email-do-not-click-banner.eml").content
    words = (
        "the boilers in building C get their yearly service on Saturday from 7:00. "
        "Hot water will be off until about noon."
    )
    assert content.text == f"Hello team,\n\n{words}"
    assert content.signature == "Thanks,\nErin Vogt\nFacilities Services"
    assert content.quoted_text == ""
    assert html_to_text(html_of(content)) == f"Hello team,\n\n{words}"  # the table is gone, the signature folded


def test_german_external_sender_banner_is_dropped() -> None:
    content = analysed_fixture("german-external-sender-banner.eml").content
    words = "die Schrauben M8 kommen am Dienstag, zwei Paletten, Anlieferung über Tor 3."
    assert content.text == f"Hallo zusammen,\n\n{words}"
    assert content.signature == "Viele Grüße\nJonas Keller"
    assert html_to_text(html_of(content)) == f"Hallo zusammen,\n\n{words}"


def test_french_external_sender_banner_is_dropped() -> None:
    content = analysed_fixture("french-external-sender-banner.eml").content
    words = (
        "voici le menu du séminaire : velouté de potimarron, suprême de volaille, tarte aux pommes. "
        "Une option végétarienne est prévue."
    )
    assert content.text == f"Bonjour,\n\n{words}"
    assert content.signature == "Cordialement,\nClaire Morel"
    assert html_to_text(html_of(content)) == f"Bonjour,\n\n{words}"


@pytest.mark.parametrize(
    "line",
    [
        "View this email in your browser <https://mailchi.mp/example/march-issue>",
        "Having trouble viewing this email? View it in your browser.",
        "View online: https://news.example.com/issues/3",
        "Web version",
        "Diese E-Mail im Browser ansehen",
        "Voir la version en ligne",
        "Ver este correo en tu navegador",
        "Bekijk deze e-mail in je browser",
        "View this post on the web at https://ops.substack.example/p/backups",  # Substack's
        "[ https://jira.example.org/browse/OPS-231?focusedCommentId=10412 ]",  # Jira's link to the issue
    ],
)
def test_a_newsletters_view_in_browser_line_is_not_its_first_words(line: str) -> None:
    # the snippet and the digest line showed the link to the web copy instead of the news
    body = f"{line}\nThe March issue\n\nThe new office opens on 1 April.\n"
    content = analysed(make_mail(message_id="news@example.com", body=body)).content
    assert content.text == "The March issue\n\nThe new office opens on 1 April."
    assert content.snippet.startswith("The March issue")


def test_an_author_asking_to_open_something_in_the_browser_keeps_the_line() -> None:
    body = "Open it in your browser and check the numbers.\n\nThanks\n"
    assert analysed(make_mail(message_id="open@example.com", body=body)).content.text.startswith("Open it in your")
