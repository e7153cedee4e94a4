"""Machines and loops are never posted: auto-replies, out-of-office, bounces, our own mail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.classify import POST, Verdict, classify
from gateway.message import Address, ParsedMessage


def msg(subject: str = "Plan", sender: str = "ann@example.com", text: str = "", **headers: str) -> ParsedMessage:
    return ParsedMessage(
        message_id="m@x",
        subject=subject,
        author=Address("", sender),
        text=text,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Plan",
        "Out of Office AutoReply: Plan",  # Exchange 2003's, which writes no header saying so
        "Automatic reply: Plan",
        "Abwesenheitsnotiz: Plan",
        "Automatische Antwort: Plan",
        "Réponse automatique : Plan",
        "Respuesta automática: Plan",
        "Risposta automatica: Plan",
        "Automatisch antwoord: Plan",
        "Automatiskt svar: Plan",
        "Frånvaro",
        "Autosvar: Plan",
        "Odpowiedź automatyczna: Plan",
        "Resposta automática: Plan",
        "自動応答: Plan",
        "自动回复: Plan",
    ],
)
def test_out_of_office_subjects_in_many_languages(subject: str) -> None:
    assert classify(msg(subject)).action == "ignore"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"auto_submitted": "auto-replied"}, "Auto-Submitted"),
        ({"auto_submitted": 'auto-replied; owner-email="ann@example.com"'}, "auto-reply (Auto-Submitted"),
        ({"precedence": "auto_reply"}, "Precedence"),
        ({"x_autoreply": "yes"}, "x-autoreply"),
        ({"content_type": "multipart/report; report-type=delivery-status"}, "bounce"),
        ({"content_type": 'multipart/report; report-type="disposition-notification"'}, "read receipt"),
        ({"x_mailfeed_digest": "1"}, "loop"),
        ({"x_mailfeed_loop": "notice"}, "loop"),
    ],
)
def test_machine_headers_are_ignored_with_the_reason(headers: dict[str, str], reason: str) -> None:
    verdict = classify(msg(**headers))
    assert verdict.action == "ignore" and reason in verdict.reason


def test_people_are_posted_and_machines_by_sender_are_not() -> None:
    for subject in ("Out of scope for Q3?", "Absent from Monday's meeting: notes", "Ausente: informe"):
        assert classify(msg(subject)).action == "post", subject  # a word alone is not an out-of-office
    assert classify(msg(auto_submitted="no")).action == "post"
    assert classify(msg(precedence="list")).action == "post"  # mailing-list mail is people's mail
    assert classify(msg(sender="MAILER-DAEMON@relay.example.com")).action == "ignore"
    assert classify(msg(sender="MDaemon@mx.example.com")).action == "ignore"  # MDaemon's "Permanent Delivery Failure"
    assert classify(msg(sender="mdaemon.fan@example.com")).action == "post"
    assert classify(msg(), envelope_from="").action == "ignore"  # null sender: a bounce


@pytest.mark.parametrize(
    ("message", "envelope_from"),
    [
        (msg(sender="post_master@sms.example.net", subject="Re:Test message"), None),  # a gateway's bounce
        (ParsedMessage(message_id="m@x", subject="Mail delivery failed", author=Address("MAILER-DAEMON", "")), None),
        (msg(subject="Undeliverable Message", return_path="<>"), None),  # an archive's bounce: no envelope
        (msg(subject="AUTO: Ana Lima is out of the office (returning 04/06/2026)"), None),  # Lotus Notes
        (msg(auto_submitted="auto-replied (zimbra; vacation)"), None),
        # a relay's delivery report sent bare, not inside a multipart/report (flanker's test mail has one)
        (msg(subject="Delivery report", sender="relay@mx.example.net", content_type="message/delivery-status"), None),
    ],
)
def test_bounces_and_auto_replies_that_name_themselves_otherwise_are_ignored(
    message: ParsedMessage, envelope_from: str | None
) -> None:
    """Found in sisimai's set of real bounces, posted to the feed before: a "post_master" address, a
    daemon's name with no address, Return-Path "<>" in an imported archive, Notes' "AUTO:" subject,
    and an Auto-Submitted value with a comment."""
    verdict = classify(message, envelope_from=envelope_from)
    assert verdict.action == "ignore"
    if message.headers.get("auto-submitted"):
        assert verdict.reason == "auto-reply (Auto-Submitted: auto-replied)"  # not "automatic mail"


def test_what_only_looks_like_a_machine_is_posted() -> None:
    assert classify(msg(subject="Auto: repair quote for the van")).action == "post"
    assert classify(msg(subject="Auto: why the van is out of the office car park")).action == "post"  # Notes: "AUTO:"
    assert classify(msg(return_path="<ann@example.com>")).action == "post"
    assert classify(msg(return_path="<>"), envelope_from="ann@example.com").action == "post"  # the envelope says
    assert classify(ParsedMessage(message_id="m@x", subject="Hi", author=Address("Mark Whatney", ""))).action == "post"


def test_sender_policy_holds_unknown_senders() -> None:
    allowed = frozenset({"example.com", "boss@partner.org"})
    assert classify(msg(sender="ann@example.com"), allowed=allowed).action == "post"
    assert classify(msg(sender="boss@partner.org"), allowed=allowed).action == "post"
    held = classify(msg(sender="eve@evil.example"), allowed=allowed)
    assert held.action == "hold" and "eve@evil.example" in held.reason


def test_automated_senders_are_posted_but_never_their_loops_or_bounces() -> None:
    """A helpdesk copying the team on tickets marks its mail automatic; AUTOMATED_SENDERS lets it in."""
    zendesk = {"auto_submitted": "auto-generated", "x_auto_response_suppress": "All"}
    ignored = classify(msg(sender="support@help.example.com", **zendesk))
    assert ignored == classify(msg(sender="support@help.example.com", **zendesk), automated=frozenset({"other.org"}))
    assert ignored.action == "ignore" and "Auto-Submitted: auto-generated" in ignored.reason
    assert "AUTOMATED_SENDERS" in ignored.reason  # the admin reading it learns how to let it in
    for listed in ("help.example.com", "support@help.example.com"):
        verdict = classify(msg(sender="support@help.example.com", **zendesk), automated=frozenset({listed}))
        assert verdict.action == "post", listed
    helpdesk = frozenset({"help.example.com"})
    # another sender's automatic mail stays out, and the helpdesk's own loops and bounces too
    assert classify(msg(sender="bot@elsewhere.example", **zendesk), automated=helpdesk).action == "ignore"
    assert classify(msg(sender="x@help.example.com", x_mailfeed_loop="notice"), automated=helpdesk).action == "ignore"
    assert classify(msg(sender="x@help.example.com"), automated=helpdesk, envelope_from="").action == "ignore"
    # the sender policy still applies to it
    verdict = classify(
        msg(sender="support@help.example.com", **zendesk), allowed=frozenset({"example.org"}), automated=helpdesk
    )
    assert verdict.action == "hold"


@pytest.mark.parametrize(
    "subject",
    [
        "Out of office next week, Bo covers",
        "Away from the office on Friday",
        "Abwesenheit nächste Woche",
        "Out of office - back on Monday",
    ],
)
def test_a_persons_announcement_of_their_absence_is_posted(subject: str) -> None:
    # the team wants to read it; an automatic reply says only the marker, or the marker and a colon
    assert classify(msg(subject)).action == "post"


def test_the_same_words_in_a_reply_are_an_automatic_reply() -> None:
    reply = ParsedMessage(
        message_id="m@x",
        subject="Out of office until Monday",
        author=Address("", "ann@example.com"),
        in_reply_to=["p@x"],
    )
    assert classify(reply).action == "ignore"


def test_a_request_not_to_auto_reply_does_not_make_mail_automatic() -> None:
    # X-Auto-Response-Suppress asks Exchange not to answer; newsletters (Ghost), notification
    # services and people's clients send it on mail the team wants to read
    assert classify(msg("March newsletter", x_auto_response_suppress="All")).action == "post"
    assert classify(msg("Plan", x_auto_response_suppress="OOF, AutoReply")).action == "post"


@pytest.mark.parametrize("subject", ["Automaattinen vastaus: Plan", "자동 회신: Plan", "Out of Office AutoReply: Plan"])
def test_exchanges_out_of_office_reply_is_ignored_in_any_language_by_its_headers(subject: str) -> None:
    """Exchange before 2016 writes no Auto-Submitted, and its subjects come in every language it
    speaks: a Finnish or Korean out-of-office reply was posted. What a rule sent carries Inbox-Rules-Loop."""
    oof = msg(subject, x_auto_response_suppress="All", x_ms_exchange_inbox_rules_loop="ann@example.com")
    verdict = classify(oof)
    assert verdict.action == "ignore" and "Exchange" in verdict.reason
    # a message a person's rule passed on, with no request not to be answered, is theirs
    assert classify(msg("Plan", x_ms_exchange_inbox_rules_loop="ann@example.com")).action == "post"


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("team-request@lists.example.org", {}),
        ("team-confirm+3f1e5a7c@lists.example.org", {}),
        ("team-bounces@lists.example.org", {}),
        ("Majordomo@lists.example.org", {}),
        ("LISTSERV@LISTS.EXAMPLE.ORG", {}),
        ("sympa@lists.example.org", {}),
        ("ann@example.com", {"x_list_administrivia": "yes"}),
    ],
)
def test_a_list_servers_own_mail_is_ignored(sender: str, headers: dict[str, str]) -> None:
    """Welcomes, confirmations, password reminders and command results of the lists a team joins
    with its address were posted as members' mail."""
    verdict = classify(msg("Welcome to the team list", sender.lower(), **headers))
    assert verdict.action == "ignore" and "list server" in verdict.reason
    assert classify(msg(sender="requests@example.org")).action == "post"  # a mailbox, no list server's command
    assert classify(msg(sender="team-request@lists.example.org"), automated=frozenset({"lists.example.org"})) == POST


@pytest.mark.parametrize(
    "subject",
    [
        "AUTO: Max Muster ist außer Haus. (Rückkehr am 16.03.2026)",
        "AUTO : Marie Roy est absente du bureau (retour le 16/03)",
    ],
)
def test_lotus_notes_out_of_office_in_german_and_french(subject: str) -> None:
    assert classify(msg(subject)).action == "ignore"
    assert classify(msg("Auto: Werkstatttermin für den Dienstwagen")).action == "post"  # a car's


def test_an_answer_to_a_meeting_invitation_with_no_words_is_ignored_and_one_with_a_note_posted() -> None:
    """Each attendee's click on "Accept" was posted on the event's thread, an entry with no words."""
    answer = replace(msg("Accepted: Team sync"), calendar_answer=True)
    assert classify(answer).action == "ignore"
    google = replace(answer, text="Dana Reyes has accepted this invitation.\n\nTeam sync\nTuesday 17 March 2026")
    assert classify(google).action == "ignore"
    noted = replace(answer, subject="Declined: Team sync", text="Sorry, I am at the dentist then. Bo")
    assert classify(noted).action == "post"
    assert classify(replace(msg("Team sync"), text="")).action == "post"  # no answer to anything


def test_a_piece_of_a_split_message_is_held_with_its_place() -> None:
    """message/partial (RFC 2046 5.2.2): each piece was posted as a message, the first with half a
    file, the others as base64 text. mailfeed does not join the pieces; they are held, saying so."""
    piece = msg(content_type='message/partial; id="m1@example.org"; number=2; total=3')
    verdict = classify(piece, allowed=frozenset({"example.com"}))  # held even from an allowed sender
    assert verdict == Verdict("hold", "a piece of a split message (message/partial, 2 of 3), not joined")


@pytest.mark.parametrize(
    ("message", "envelope_from"),
    [
        # a gateway's notice under its own From, the delivering server's Return-Path a mailer-daemon's
        (msg(sender="mailscan@gw.example.net", return_path="<MAILER-DAEMON@relay7.example.net>"), None),
        (msg(sender="mailscan@gw.example.net"), "MAILER-DAEMON@relay7.example.net"),  # the envelope says so
        (msg(sender="postmaster\\@corp.example@relay.example"), None),  # an escaped "@" in the address
        # an ordinary address, a delivery failure's subject and the words mail servers write in it
        (
            msg(
                "Mail delivery failed: returning message to sender",
                "ndr@mx.example.com",
                "This message was created automatically by mail delivery software.\n\nA message …",
            ),
            None,
        ),
        (
            msg(
                "RE: Weekly minutes : non remis (delivery failed)",
                "relay-notices@bank.example",
                "Votre message n'a pas pu etre delivre a frank@example.com",
            ),
            None,
        ),
    ],
)
def test_bounces_from_gateways_and_relays_are_ignored(message: ParsedMessage, envelope_from: str | None) -> None:
    """Found in flufl.bounce's samples (Mailman's bounce detector), posted before with every sender
    allowed: 10 of 118; now one, a person's real message."""
    assert classify(message, envelope_from=envelope_from).action == "ignore"


def test_a_persons_mail_about_a_delivery_is_posted() -> None:
    person = msg(
        "Delivery failure at the loading dock",
        "ivan@example.org",
        "The van could not deliver the chairs today; the ramp was blocked.",
    )
    assert classify(person).action == "post"  # a delivery failure's subject, and a person's words
    forwarded = msg(
        "Fwd: Undeliverable: Budget",
        "ivan@example.org",
        "Why did this bounce?\n\nYour message could not be delivered to budget@example.org",
    )
    assert classify(forwarded).action == "post"  # a person forwarding a bounce asks the team about it


def test_a_read_receipt_sent_as_a_plain_message_is_ignored_and_a_persons_read_is_not() -> None:
    """Outlook sends receipts over IMAP as plain messages, "Read: Plan" over "Your message … was read
    on …": each was posted as a member's mail."""
    receipt = "Your message\n\n  To: Jana\n  Subject: Plan\n\nwas read on Tuesday, March 10, 2026 10:32:00 AM."
    assert classify(msg("Read: Plan", text=receipt)).action == "ignore"
    gelesen = "Ihre Nachricht\n\n  An: Max\n\nwurde am Dienstag, 10. März 2026 10:33:00 gelesen."
    assert classify(msg("Gelesen: Plan", text=gelesen)).action == "ignore"
    assert classify(msg("Read: the new travel policy", text="Everyone, please read it by Friday.")).action == "post"


def test_rts_automatic_reply_and_yahoos_vacation_response_are_ignored() -> None:
    rt = msg("[support.example.org #48211] AutoReply: VPN expired", x_rt_loop_prevention="support.example.org")
    assert classify(rt).action == "ignore"
    answered = msg("[support.example.org #48211] VPN expired", x_rt_loop_prevention="support.example.org")
    assert classify(answered).action == "post"  # an agent's answer through RT
    assert classify(msg("Vacation Response")).action == "ignore"


def test_a_monitors_alert_about_failed_mail_is_no_bounce() -> None:
    """Grafana's "[FIRING:1] Mail delivery failures" over "312 messages could not be delivered to
    gmail.com" has a bounce's subject and words, and the alert the team waits for was ignored."""
    alert = msg("[FIRING:1] Mail delivery failures (relays)", text="312 messages could not be delivered to gmail.com")
    assert classify(alert).action == "post"
    bounce = msg("Mail delivery failed", text="Your message could not be delivered to bo@example.org.")
    assert classify(bounce).action == "ignore"


def test_the_vacation_program_tmdas_confirm_request_and_notes_return_receipt_are_ignored() -> None:
    vacation = msg("I am on vacation", delivered_by_the_graces_of="The Vacation program", precedence="bulk")
    assert "vacation program" in classify(vacation).reason
    assert classify(msg("Re: Plan (Auto Response)", x_delivered_by_the_graces_of="The vacation program")).action == (
        "ignore"
    )
    tmda = msg("Please confirm your message (Plan)", x_delivery_agent="TMDA/1.1.12 (Macallan)", precedence="bulk")
    tmda = replace(tmda, message_id="1773134400.12345.TMDA@mx.partner.example", in_reply_to=["plan@example.com"])
    assert "TMDA" in classify(tmda).reason
    # a TMDA user's own reply carries the header too, without the rest: a person's mail
    person = replace(msg("Re: Plan", x_delivery_agent="TMDA/1.0.3 (Seattle Slew)"), in_reply_to=["plan@example.com"])
    assert classify(person) == POST
    notes = (
        "Return Receipt\n\n   Your       Plan\n   document:\n\n   was        Max Mustermann/KUNDE\n   received\n"
        "   by:\n\n   at:        10.03.2026 10:31:00\n"
    )
    assert "Return Receipt" in classify(msg("Return Receipt", text=notes)).reason
    assert classify(msg("Return receipt", text="The return receipt for the parcel is attached.")) == POST


def test_mail_from_a_bare_mailer_address_is_posted_and_its_bounces_still_ignored() -> None:
    """A person writing from "mailer@node.ee" (a tester's address) was ignored as a bounce."""
    assert classify(msg("Kuidas läheb?", sender="mailer@node.ee", text="Kuidas läheb?\n\n-- \nAndris")) == POST
    bounce = msg(
        "Undeliverable: Plan",
        sender="mailer@relay.example.net",
        text="Your message could not be delivered to bo@example.org.",
    )
    assert classify(bounce).action == "ignore"


def test_google_calendars_invitations_are_posted_and_wordless_answers_in_more_clients_ignored() -> None:
    """Google Calendar sends the organiser's invitations, updates and cancellations with
    "Auto-Submitted: auto-generated": each was ignored as a notification, and its thread never began."""
    invitation = replace(msg("Updated invitation: Team sync", auto_submitted="auto-generated"), event_uid="e1@google")
    assert classify(invitation) == POST
    assert classify(msg("Weekly report", auto_submitted="auto-generated")).action == "ignore"  # no event: as before
    answer = replace(
        msg("Accepted: Team sync", text="Bo Berg <bo@example.com> has accepted your event invitation."),
        event_uid="e1@google",
        calendar_answer=True,
    )
    assert "meeting invitation" in classify(answer).reason  # Thunderbird's words, no attendee's own


def test_a_newsletter_sent_with_precedence_junk_is_posted_and_an_autoresponders_junk_ignored() -> None:
    """Some newsletter senders write "Precedence: junk", as vacation(1) does: the newsletter says
    how to unsubscribe, the autoresponder does not."""
    letter = msg(
        "Garden club news, May",
        sender="news@gardenclub.example",
        precedence="junk",
        list_unsubscribe="<https://gardenclub.example/u/1>",
    )
    assert classify(letter) == POST
    assert classify(replace(letter, headers={"precedence": "junk", "list-id": "<news.gardenclub.example>"})) == POST
    away = msg("I am away", precedence="junk")
    assert classify(away) == Verdict("ignore", "auto-reply (Precedence: junk)")
    assert classify(msg("Re: Plan", precedence="auto_reply", list_id="<x>")).action == "ignore"
