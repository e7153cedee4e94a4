"""Step 4, classify: is this a person writing to the team, or a machine, or a loop?

Pure. Auto-replies, bounces and mailfeed's own digests coming back are never
posted; they are kept (raw, status "ignored", with the reason) for the admin.
Mail from a sender outside ALLOWED_SENDERS is held, since it can only reach
this step by import or IMAP (SMTP refuses it at MAIL FROM). A machine the team
wants to hear from (a helpdesk copying the team on tickets, a monitor) is
listed in AUTOMATED_SENDERS: its automatic mail is posted; loops and bounces
never are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.message import ParsedMessage
from gateway.thread import FORWARDS

LOOP_HEADERS = ("x-mailfeed-digest", "x-mailfeed-loop")
# the addresses mail servers send their bounces from (MDaemon signs its own with its name), and the
# names they give when they send from no address at all ("MAILER-DAEMON <>")
# (not a bare "mailer@": people and shops write from it, and a bounce from one still has a bounce's words)
_MACHINE_SENDER = re.compile(r"^(mailer-daemon|post[-_.]?master|mail-daemon|mdaemon)@", re.IGNORECASE)
_MACHINE_NAME = re.compile(r"^\s*(?:mailer[- ]daemon|post[-_. ]?master|mail delivery (?:sub)?system)\s*$", re.I)
# A delivery failure sent from an ordinary address (a gateway, an ISP's "Mail_Service"): its subject and
# the fixed words mail servers write in it, both; a person's "Delivery failure at the loading dock" has
# the one and not the other, and a forwarded bounce ("Fwd: Undeliverable: …") is a person asking
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (?:status|failure|failed|problem|report|notification|warning)|returned mail|"
    r"mail delivery failed|non-?delivery|failure notice|mail (?:system )?error|non remis|nicht zustellbar|"
    r"could not be delivered|"
    r"unzustellbar|no entregado|niet bezorgd",
    re.IGNORECASE,
)
_BOUNCE_TEXT = re.compile(
    r"could not be delivered to|(?:mail|message) could not be delivered|could not deliver (?:the )?message to|"
    r"cannot be delivered to the following|"
    r"failed recipient|created automatically by mail delivery software|delivery has failed to these recipients|"
    r"non-delivery report|permanent fatal errors|delivery to the following recipients? failed|"
    r"your message did not reach|n'a pas pu [eê]tre (?:d[ée]livr[ée]|remis)|konnte nicht zugestellt werden",
    re.IGNORECASE,
)
# an alerting system's subject: Grafana's and Alertmanager's "[FIRING:1] Mail delivery failures"
_ALERT = re.compile(r"^\s*\[(?:firing|resolved|alerting|ok|warning|critical)\b", re.IGNORECASE)
_FORWARDED = re.compile(rf"^\s*(?:{FORWARDS}|vs)\s*[:：]", re.IGNORECASE)  # threading's forward prefixes
# Lotus Notes' out-of-office subject: "AUTO: Ana Lima is out of the office (returning 04/06/2026)", "AUTO: Max
# Muster ist außer Haus. (Rückkehr am …)", "AUTO : Marie Dupont est absente du bureau (retour le …)"
_NOTES_AWAY = re.compile(  # "AUTO:" in capitals, as Notes writes it ("Auto: Werkstatttermin" is a car's)
    r"^AUTO ?: .{1,120}?\b(?i:is out of the office|is on vacation|ist au(?:ß|ss)er haus|ist nicht im b[üu]ro"
    r"|est absente? du bureau|est en cong[ée]s?)"
)
# A list server's own mail (welcome, confirm, password reminders, command results): Mailman's -request,
# -bounces, -confirm+token, -join and -leave addresses and the list servers' own names
_LIST_SERVER = re.compile(
    r"^(?:[^@]{1,64}-(?:request|bounces|confirm|join|leave|subscribe|unsubscribe)(?:\+[^@]{0,100})?"
    r"|mailman(?:-owner)?|majordomo|listserv|sympa)@",
    re.IGNORECASE,
)
# A read receipt sent as a plain message (Outlook over IMAP): its subject's marker and the
# words the client writes under it, both; a person's "Read: the new policy" has the one and not the other
_RECEIPT_SUBJECT = re.compile(
    r"^\s*(?:(?:not |nicht )?read|gelesen|lu|non lu|le[íi]do|no le[íi]do|letto|gelezen|l[äa]st|l[æa]st|luettu"
    r"|przeczytan[ay]|lido)\s*(?:[:：]|$)",
    re.IGNORECASE,
)
_RECEIPT_TEXT = re.compile(
    r"\bwas read on\b|\bwas deleted without being read\b|\bwurde am\b[^\n]{0,200}\bgelesen\b|\ba été lu\b"
    r"|\bfue leído\b|\bè stato letto\b|\bis gelezen\b",
    re.IGNORECASE,
)
# Lotus Notes' return receipt: "Return Receipt" over a table of "Your document:", "was received by:" and
# "at:", each label's words on two lines
_NOTES_RECEIPT = re.compile(r"^\s*Return Receipt\s*\n[\s\S]{0,600}?\bdocument:[\s\S]{0,600}?\breceived\b", re.I)
# Google Calendar's answer to an invitation ("… has accepted this invitation."), Thunderbird's ("… has accepted
# your event invitation."), their text fixed but for the name
_CALENDAR_ANSWER = re.compile(
    r"^\s*[^\n]{1,120}? has (?:accepted|declined|tentatively accepted) (?:this|your) (?:event )?invitation\.\s*$",
    re.M,
)
# Out-of-office subjects, as the common clients and servers write them, in several languages.
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:"
    r"out of office auto\s?reply|out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)"
    r"|autoreply|on vacation|away from"
    r"|vacation (?:response|reply)"
    r"|abwesenheit|automatische antwort|abwesenheitsnotiz|nicht im b[üu]ro"
    r"|r[ée]ponse automatique|absence du bureau|absent\(e\) du bureau"
    r"|respuesta autom[áa]tica|fuera de la oficina"
    r"|risposta automatica|fuori ufficio"
    r"|automatisch antwoord|afwezigheidsmelding"
    r"|automatiskt svar|fr[åa]nvaro|autosvar|automatisk svar|frav[æa]r"
    r"|odpowied[źz] automatyczna|poza biurem"
    r"|resposta autom[áa]tica|fora do escrit[óo]rio"
    r"|自動応答|自動返信|不在通知|自动回复"
    r")\b",
    re.IGNORECASE,
)
# An automatic reply's subject is the marker alone or before the subject it answers ("Out of Office:
# Plan"); a person's announcement goes on in words ("Out of office next week, Bo covers"), and is
# taken for an automatic reply only when it is a reply
_REPLY_SHAPE = re.compile(r"\s*(?:[:：]|$)")


@dataclass(frozen=True)
class Verdict:
    """`post`, `ignore` (a machine or a loop) or `hold` (for an admin), with the reason."""

    action: str
    reason: str = ""


POST = Verdict("post")


def _param(ctype: str, name: str) -> str | None:
    found = re.search(rf"(?:^|;)\s*{name}\s*=\s*\"?(\d{{1,4}})", ctype)
    return found.group(1) if found else None


def classify(
    msg: ParsedMessage,
    *,
    allowed: frozenset[str] = frozenset(),
    envelope_from: str | None = None,
    automated: frozenset[str] = frozenset(),
) -> Verdict:
    """Decide what happens to `msg`; `envelope_from` is "" for a null sender, None when unknown."""
    h = msg.headers
    for name in LOOP_HEADERS:
        if name in h:
            return Verdict("ignore", f"loop: mailfeed's own mail came back ({name})")
    ctype = h.get("content-type", "").lower()
    if "multipart/report" in ctype:  # RFC 6522: a delivery report, or a read receipt (RFC 8098)
        if "disposition-notification" in ctype:
            return Verdict("ignore", "read receipt (multipart/report; report-type=disposition-notification)")
        return Verdict("ignore", "bounce (multipart/report)")
    if ctype.lstrip().startswith("message/partial"):  # RFC 2046 5.2.2: one piece of a message split in several
        number, total = (_param(ctype, name) or "?" for name in ("number", "total"))
        return Verdict("hold", f"a piece of a split message (message/partial, {number} of {total}), not joined")
    if ctype.lstrip().startswith(("message/delivery-status", "message/disposition-notification")):
        return Verdict("ignore", f"bounce ({ctype.split(';')[0].strip()}, not wrapped in a report)")
    machine = None if automated and sender_allowed(msg.author.address, automated) else _machine(msg)
    if machine is not None:
        return machine
    # Return-Path is the envelope's sender as the delivering server wrote it: "<>" is a null sender,
    # read when the envelope itself is unknown (an imported archive, a mailbox followed by IMAP)
    return_path = h.get("return-path", "").strip()
    null_sender = envelope_from == "" or (envelope_from is None and return_path == "<>")
    envelope = envelope_from if envelope_from is not None else return_path.strip("<>")
    by_daemon = (
        _MACHINE_SENDER.match(msg.author.address.replace("\\", ""))  # "Postmaster\@corp@relay"
        or _MACHINE_SENDER.match(envelope)  # "Return-Path: <MAILER-DAEMON@relay>" under a gateway's From
        or (not msg.author.address and _MACHINE_NAME.match(msg.author.name))
    )
    if null_sender or by_daemon:
        return Verdict("ignore", "bounce (null sender or mailer-daemon)")
    bounce_subject = (
        _BOUNCE_SUBJECT.search(msg.subject[:300])
        and not _FORWARDED.match(msg.subject)
        and not _ALERT.match(msg.subject)  # a monitor's alert about mail that failed
    )
    if bounce_subject and _BOUNCE_TEXT.search(msg.text[:3000]):
        return Verdict("ignore", "bounce (a delivery failure's subject and words)")
    if allowed and not sender_allowed(msg.author.address, allowed):
        return Verdict("hold", f"sender not allowed: {msg.author.address or '(none)'}")
    return POST


def _machine(msg: ParsedMessage) -> Verdict | None:
    """An auto-reply or other automatic mail, by its headers, its sender or an out-of-office subject.

    Not by X-Auto-Response-Suppress alone: it asks Exchange not to answer the message, and
    newsletters, notification services and people's own clients send it on mail the team
    wants to read. With X-MS-Exchange-Inbox-Rules-Loop, which Exchange adds to what a rule
    sent, it is Exchange's out-of-office reply (servers before 2016 write no Auto-Submitted,
    and their subjects come in every language Exchange speaks).
    """
    h = msg.headers
    # "auto-replied (zimbra; vacation)", "auto-replied; owner-email=…" (RFC 3834's parameters)
    auto = h.get("auto-submitted", "").partition("(")[0].partition(";")[0].strip().lower()
    if auto == "auto-replied":
        return Verdict("ignore", f"auto-reply (Auto-Submitted: {auto})")
    # a notification: the team may want it (AUTOMATED_SENDERS), so say how; but a calendar sends its
    # organiser's invitations, updates and cancellations so (Google Calendar), as it does the answers
    if auto and auto != "no" and not (auto == "auto-generated" and msg.event_uid):
        return Verdict("ignore", f"automatic mail (Auto-Submitted: {auto}); AUTOMATED_SENDERS can let it in")
    precedence = h.get("precedence", "").strip().lower()
    # junk is vacation(1)'s and some old autoresponders' word, and some newsletter senders'
    # too: one that says how to unsubscribe is a newsletter, which a team reads
    newsletter = "list-unsubscribe" in h or "list-id" in h
    if precedence == "auto_reply" or (precedence == "junk" and not newsletter):
        return Verdict("ignore", f"auto-reply (Precedence: {h['precedence']})")
    for name in ("x-autoreply", "x-autorespond"):
        if name in h:
            return Verdict("ignore", f"auto-reply ({name})")
    suppress = h.get("x-auto-response-suppress", "").lower()
    if "x-ms-exchange-inbox-rules-loop" in h and ("all" in suppress or "oof" in suppress):
        return Verdict("ignore", "out-of-office reply (Exchange: X-Auto-Response-Suppress, Inbox-Rules-Loop)")
    if h.get("x-list-administrivia", "").strip().lower() == "yes":
        return Verdict("ignore", "list server's own mail (X-List-Administrivia)")
    if _LIST_SERVER.match(msg.author.address):
        return Verdict("ignore", f"list server's own mail (from {msg.author.address}); AUTOMATED_SENDERS can let it in")
    if _RECEIPT_SUBJECT.match(msg.subject) and _RECEIPT_TEXT.search(msg.text[:2000]):
        return Verdict("ignore", f"read receipt (subject {msg.subject[:80]!r} and a receipt's words)")
    if msg.subject.strip().lower() == "return receipt" and _NOTES_RECEIPT.match(msg.text):
        return Verdict("ignore", "read receipt (Lotus Notes' Return Receipt)")
    graces = h.get("delivered-by-the-graces-of") or h.get("x-delivered-by-the-graces-of") or ""
    if "vacation" in graces.lower():  # BSD vacation(1) and its copies write it on every answer
        return Verdict("ignore", "auto-reply (the vacation program: Delivered-By-The-Graces-Of)")
    if _tmda_request(msg):
        return Verdict("ignore", "a spam filter's request to confirm the sender (TMDA)")
    if "x-rt-loop-prevention" in h and "autoreply:" in msg.subject.lower():
        return Verdict("ignore", "a ticket system's automatic reply (RT's AutoReply)")
    if msg.calendar_answer and (not msg.text.strip() or _CALENDAR_ANSWER.match(msg.text)):
        return Verdict("ignore", "an answer to a meeting invitation, with no words of the attendee's")
    ooo = _OUT_OF_OFFICE.match(msg.subject)
    if (ooo and (_REPLY_SHAPE.match(msg.subject, ooo.end()) or msg.in_reply_to or msg.references)) or (
        _NOTES_AWAY.match(msg.subject)
    ):
        return Verdict("ignore", f"out-of-office reply (subject {msg.subject[:80]!r})")
    return None


def _tmda_request(msg: ParsedMessage) -> bool:
    """TMDA's request that a sender confirm their message: the team can do nothing with it. Its
    X-Delivery-Agent alone is no sign: a TMDA user's own mail carries it too (OpenWebMail's test:
    with Precedence: bulk, and its Message-ID's ".TMDA@")."""
    h = msg.headers
    return (
        h.get("x-delivery-agent", "").lstrip().upper().startswith("TMDA")
        and h.get("precedence", "").strip().lower() == "bulk"
        and ".TMDA@" in msg.message_id
    )


def sender_allowed(address: str, allowed: frozenset[str]) -> bool:
    """True when `allowed` is empty or lists the address or its domain."""
    if not allowed:
        return True
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    return address in allowed or domain in allowed
