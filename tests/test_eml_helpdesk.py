"""Steps 3 to 6 on helpdesk notifications (Zendesk's layout): the newest comment is what the entry shows."""

from __future__ import annotations

import pytest

from gateway.html_text import html_to_text
from gateway.message import ReplyParts
from gateway.reply import split_reply
from gateway.reply_helpdesk import ticket_html, ticket_text
from tests.helpers import analysed_fixture, html_of

INSTRUCTIONS = ("Please type your reply above this line", "registered as a CC", "has been updated", "23735", "4821")


def test_zendesk_ticket_update_forwarded_into_the_team_shows_the_agents_comment_only() -> None:
    """The forward is unwrapped (author Example Support, the forwarder's line the note); Zendesk's
    lines for the mailbox ("##- Please type your reply above this line -##", "Your request (4821) has
    been updated…") go; the newest comment is the text, the older one and the footer its history."""
    c = analysed_fixture("zendesk-ticket-update-forwarded.eml").content
    assert c.forward is not None
    assert c.forward.by.address == "dana.voss@example.org"
    assert c.forward.note == "FYI, no toner until mid-March. Please use the printer on floor 2 until then."
    assert (c.author.name, c.author.address) == ("Example Support", "support@help.example.com")
    assert c.subject == "[Example Support] Re: Toner for the 3rd-floor printer"
    assert c.text == (
        "Sadie M., Mar 2, 2026, 5:48 PM CET\n\n"
        "Hi Dana,\n\n"
        "The toner is on back order; we expect the delivery on 16 March.\n\n"
        "Sadie"
    )
    assert c.quoted_text.startswith(
        "Dana Voss, Mar 2, 2026, 9:12 AM CET\n\nThe printer on the 3rd floor is out of toner."
    )
    assert c.quoted_text.endswith("This email is a service from Example Support.\n\n[Z4YRQ7-8K2M]")
    assert c.signature == ""
    assert c.snippet.startswith("Sadie M., Mar 2, 2026, 5:48 PM CET Hi Dana, The toner is on back order")
    html = html_of(c)
    assert html_to_text(html) == (
        "Sadie M. (Example Support)\n\nMar 2, 2026, 5:48 PM CET\n\n"
        "Hi Dana,\n\nThe toner is on back order; we expect the delivery on 16 March.\n\nSadie"
    )
    assert not any(words in html for words in INSTRUCTIONS)
    assert "out of toner" not in html and "Z4YRQ7-8K2M" not in html and "service from" not in html


def test_zendesk_update_the_team_is_copied_on_shows_the_newest_of_three_comments() -> None:
    """Zendesk's own template: each comment a table in a table, the marker and the request's line above."""
    result = analysed_fixture("zendesk-cc-update-nested-tables.eml")
    c = result.content
    assert c.forward is None
    assert (c.author.name, c.author.address) == ("Miro Lind", "support@help.example.com")
    assert c.text == (
        "Miro Lind, Mar 5, 2026, 14:20 CET\n\nHello,\n\n"
        "the VPN certificates were renewed this morning. Reconnect once and the\nwarning goes away."
    )
    assert c.quoted_text.startswith("Jonas Berg, Mar 5, 2026, 09:02 CET\n\nThe VPN client warns")
    assert "Example IT, Mar 5, 2026, 09:02 CET\n\nYour request was received" in c.quoted_text
    html = html_of(c)
    assert html_to_text(html) == (  # the avatar is a remote image: a placeholder
        "[image]\n\nMiro Lind (Example IT)\n\nMar 5, 2026, 14:20 CET\n\nHello,\n\n"
        "the VPN certificates were renewed this morning. Reconnect once and the warning goes away."
    )
    assert not any(words in html for words in INSTRUCTIONS)
    assert "Jonas Berg" not in html and "8V1D2K-QW7P" not in html
    # the comment's HTML stays whole: its two tables, both closed; its avatar a placeholder
    assert html.count("<table") == html.count("</table>") == 2
    assert 'data-src="https://help.example.com/system/photos/3601/miro.png"' in html
    # Zendesk marks its notifications automatic; mail to the team from it is ignored unless allowed
    assert result.verdict.action == "ignore"


def test_zendesk_html_only_notice_in_german_with_one_comment_keeps_it_and_drops_the_footer() -> None:
    c = analysed_fixture("zendesk-request-received-german-html-only.eml").content
    assert c.text == (
        "Team Example\n\n6. März 2026, 08:31 MEZ\n\nGuten Morgen,\n\n"
        "im 2. OG bleiben die Heizkörper seit gestern kalt. Können Sie jemanden vorbeischicken?"
    )
    assert c.quoted_text == "Diese E-Mail ist ein Service von Beispiel Hausverwaltung.\n[R5T9LM-2XQ4]"
    html = html_of(c)
    assert "Bitte geben Sie Ihre Antwort" not in html and "(5120)" not in html and "Service von" not in html
    assert "Heizkörper seit gestern kalt" in html


def test_a_reply_quoting_a_zendesk_update_is_split_the_usual_way() -> None:
    c = analysed_fixture("reply-quoting-a-zendesk-update.eml").content
    assert c.text == "Reconnected, the warning is gone. Thanks!\n\nJonas"
    assert c.quoted_text.startswith("On Thu, Mar 5, 2026 at 2:20 PM Miro Lind <support@help.example.com> wrote:")
    assert "> ##- Please type your reply above this line -##" in c.quoted_text


def test_a_helpdesk_that_marks_no_comments_loses_only_its_marker() -> None:
    """Not Zendesk's layout: one message under the marker. The marker goes from text and HTML, nothing else."""
    c = analysed_fixture("helpdesk-marker-without-comment-elements.eml").content
    assert c.text == (
        "Hello,\n\nthe technician replaced the fuser unit; the printer on floor 3 works again.\n\n"
        "Ticket: TCK-1187\nStatus: Resolved"
    )
    assert (c.quoted_text, c.signature) == ("", "--\nExample IT Support")
    assert html_to_text(html_of(c)) == c.text
    # only an element holding the marker alone is dropped: one holding more keeps all of it
    marker = "##- Please type your reply above this line -##"
    assert ticket_html(f"<div>{marker}</div><p>no comments here</p>") == ("<p>no comments here</p>", "")
    assert ticket_html(f"<div>{marker}<br>Hello</div>") is None


def test_ticket_text_needs_the_marker_at_the_top_and_keeps_a_short_first_comment() -> None:
    marker = "##- Please type your reply above this line -##"
    assert ticket_text(f"Thanks, works now.\n\n{marker}\n\nAnn, today\n\nDone.") is None  # a reply above it
    assert ticket_text(f"\n  \n{'=' * 20}\n{marker}\n\nAnn, today\n\nDone.") == ("Ann, today\n\nDone.", "")
    # no request line with its number under the marker: the first block is the newest comment, kept
    assert ticket_text(f"{marker}\n\nAnn, Mar 2\n\nDone.\n\n{'-' * 46}\n\nBo, Mar 1\n\nPlease fix.") == (
        "Ann, Mar 2\n\nDone.",
        "Bo, Mar 1\n\nPlease fix.",
    )
    # the request's line names its number in parentheses or after "#"
    rule = "-" * 46
    assert ticket_text(f"{marker}\n\nTicket #4821 was solved.\n{rule}\n\nAnn, Mar 2\n\nDone.") == (
        "Ann, Mar 2\n\nDone.",
        "",
    )
    # Zendesk's marker in other languages has the same frame
    assert ticket_text("##- Escriba su respuesta por encima de esta línea -##\n\nAna, 2 mar\n\nListo.") == (
        "Ana, 2 mar\n\nListo.",
        "",
    )
    assert ticket_text("## Not a marker ##\n\nText") is None


def test_ticket_html_leaves_other_mail_alone() -> None:
    assert ticket_html('<div class="zd-comment">a comment, but no marker above it</div>') is None
    assert ticket_html("<p>Hello</p>") is None
    zendesk = '<div>##- Please type your reply above this line -##</div><div class="zd-comment">Done.</div>'
    assert ticket_html(f"<head><title>Update</title><style>p {{ margin: 0 }}</style></head>{zendesk}") is not None
    assert ticket_html(f"<p>Thanks, works now.</p>{zendesk}") is None  # a reply typed above it


def test_a_reply_typed_above_a_notifications_delimiter_leaves_the_notification_as_history() -> None:
    """A client that quotes with no header of its own ("On … wrote:") leaves the notification under
    "-- REPLY ABOVE THIS LINE --": the delimiter says where the reply ends, in the text and the HTML."""
    c = analysed_fixture("reply-above-delimiter-without-quote-header.eml").content
    assert c.text == "Thanks, the new profile works: no drop since yesterday.\n\nAnn"
    assert c.quoted_text.startswith("-- REPLY ABOVE THIS LINE --\n\nDana Voss (Acme Support) replied to your ticket:")
    shown = html_to_text(html_of(c))
    assert shown.startswith("Thanks, the new profile works") and "Dana Voss" not in shown and "REPLY ABOVE" not in shown


@pytest.mark.parametrize(
    "line",
    [
        "-- REPLY ABOVE THIS LINE --",
        "== ADD YOUR REPLY ABOVE THIS LINE ==",
        "******************* Reply Above This Line *******************",
        "===== Reply above this line =====",
        "--- Please reply above this line ---",
        "## Please type your reply above this line ##",
        "—-—-—-— Reply ABOVE THIS LINE to add a comment to this message —-—-—-—",
        "Reply above this line.",
        "##- Bitte geben Sie Ihre Antwort oberhalb dieser Zeile ein. -##",
        # Discourse's German, without Zendesk's dashes; Booking's; French ones
        "## Bitte gib deine Antwort oberhalb dieser Zeile ein. ##",
        "##- Bitte schreiben Sie Ihre Antwort oberhalb dieser Zeile -##",
        "Antworten über dieser Zeile",
        "##### METTEZ VOTRE RÉPONSE AU-DESSUS DE CETTE LIGNE #####",
        "- Veuillez saisir votre réponse au-dessus de cette ligne -",
    ],
)
def test_delimiters_end_the_reply_typed_above_them(line: str) -> None:
    parts = split_reply(f"Done, thanks.\n\n{line}\n\nYour ticket #7 was updated.\n")
    assert (parts.text, parts.quoted_text) == ("Done, thanks.", f"{line}\n\nYour ticket #7 was updated.")


@pytest.mark.parametrize(
    "text",
    [
        "-- REPLY ABOVE THIS LINE --\n\nYour ticket #7 was updated.",  # the notification itself
        "Hi,\n\nplease reply above this line of the form and sign it.\n\nSee you on Monday.",  # prose
        "Hi,\n\ndie Antwort steht oberhalb dieser Zeile, siehe unten.\n\nBis Montag.",  # prose, in German
        "Hi,\n\n> -- REPLY ABOVE THIS LINE --\n> Your ticket #7 was updated.\n\nAnd more.",  # quoted, answered below
    ],
)
def test_no_delimiter_cut_without_a_reply_above_it(text: str) -> None:
    assert split_reply(text) == ReplyParts(text=text)
