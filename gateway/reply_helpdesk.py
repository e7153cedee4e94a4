"""Helpdesk notifications: a ticket's newest comment is the message, the older ones its history.

Zendesk (and helpdesks built on its layout) mails every ticket update as the
whole conversation, newest first, under a line telling the mailbox where to
reply::

    ##- Please type your reply above this line -##
    Your request (4821) has been updated. To add additional comments, reply to this email.
    ----------------------------------------------
    Sadie M., Mar 2, 2026, 5:48 PM CET
    (the newest comment)
    ----------------------------------------------
    Dana Voss, Mar 2, 2026, 9:12 AM CET
    (an older comment)
    --------------------------------
    This email is a service from Example Support.

There is no "On … wrote:" and no "> ", so the usual quote rules see one long
message and the reader got the instructions first. Here the marker line and
the request's own lines under it go; the newest comment (from its "Name, date"
line) is the text; what follows the next rule (older comments, the footer) is
quoted history. The marker is "##- … -##" in every language Zendesk writes it
in, and counts only as the first line with words: a reply typed above it, or
quoting a notification, is split the usual way. In HTML the comments are Zendesk's `zd-comment` elements.
"""

from __future__ import annotations

import re

from gateway import reply_patterns as P
from gateway.reply_tokens import OpenStack, source, tokenize

MARKER = P.HELPDESK_MARKER
_RULE = re.compile(r"^\s*-{10,}\s*$")
# "Your request (4821) has been updated", "Ticket #4821 was solved", in any language
_TICKET_NUMBER = re.compile(r"\(#?\d{1,12}\)|#\d{1,12}\b")
INTRO_LINES = 6  # non-blank lines of the request's own text between the marker and its rule
COMMENT_CLASS = "zd-comment"
_UNSHOWN = frozenset({"head", "title", "style", "script"})


def ticket_text(text: str) -> tuple[str, str] | None:
    """(the newest comment, the older comments and footer) of a helpdesk notification; None for other mail."""
    if "##" not in text:  # nearly all mail: no need to look further
        return None
    lines = text.split("\n")
    marker = _marker_line(lines)
    if marker is None:
        return None
    body = lines[marker + 1 :]
    rule = _next_rule(body)
    if rule is not None and _is_intro(body[:rule]):
        body = body[rule + 1 :]
    rule = _next_rule(body)
    comment, history = (body, []) if rule is None else (body[:rule], body[rule + 1 :])
    return "\n".join(comment).strip("\n"), "\n".join(history).strip("\n")


def _marker_line(lines: list[str]) -> int | None:
    """The marker's line when it is the first one with words: text above it is someone's reply."""
    for i, line in enumerate(lines):
        if MARKER.match(line):
            return i
        if any(ch.isalnum() for ch in line):
            return None
    return None


def _next_rule(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if _RULE.match(line)), None)


def _is_intro(lines: list[str]) -> bool:
    """The request's own lines under the marker: a few, naming its number; not a short first comment."""
    words = [line for line in lines if line.strip()]
    return len(words) <= INTRO_LINES and bool(_TICKET_NUMBER.search(" ".join(words)))


def ticket_html(html: str) -> tuple[str, str] | None:
    """(the newest comment's HTML, the rest) of a Zendesk notification's HTML; None for other mail.

    Cuts between siblings, so both halves keep their elements whole: the
    marker and the request's lines are the children of the element holding
    the marker and the first comment that come before the first comment's; the
    history starts at the child holding the second comment (or, with one
    comment, after the one holding it: Zendesk's footer). A helpdesk that marks
    no comments loses only the marker, when it stands in an element of its own.
    """
    if "##" not in html:
        return None
    tokens = tokenize(html)
    stack = OpenStack()
    marker: list[int] | None = None  # the open elements at the marker, outermost first
    marker_at = -1  # the marker's own token
    comments: list[list[int]] = []  # the same at each comment's start, itself last
    ends: dict[int, int] = {}  # start index → index of its end tag
    for i, tok in enumerate(tokens):
        if tok.kind == "start":
            stack.push(i, tok.tag)
            if COMMENT_CLASS in tok.attr("class").split() and marker is not None and len(comments) < 2:
                comments.append(list(stack.items))
        elif tok.kind == "end":
            start = stack.pop(tok.tag)
            if start is not None:
                ends[start] = i
        elif tok.kind == "data" and marker is None and not _UNSHOWN.intersection(stack.tags):
            if MARKER.match(tok.text):
                marker, marker_at = list(stack.items), i
            elif any(ch.isalnum() for ch in tok.text):
                return None  # words above the marker: someone's reply, split the usual way
    if marker is None:
        return None
    if not comments:
        own = marker[-1] if marker else None  # the element holding the marker, when it holds nothing else
        if own is None or ends.get(own) != marker_at + 1:
            return None
        return "".join(map(source, tokens[:own] + tokens[ends[own] + 1 :])), ""
    head_at, first = _branches(marker, comments[0])
    if head_at is None or first is None:
        return None
    if len(comments) > 1:
        _, cut = _branches(comments[0], comments[1])
    else:
        end = ends.get(first)
        cut = None if end is None else end + 1
    if cut is None:
        return None
    newest = "".join(map(source, tokens[:head_at] + tokens[first:cut]))
    return newest, "".join(map(source, tokens[cut:]))


def _branches(a: list[int], b: list[int]) -> tuple[int | None, int | None]:
    """The children of a's and b's deepest common element that hold a and b (start-token indexes)."""
    for x, y in zip(a, b, strict=False):
        if x != y:
            return x, y
    depth = min(len(a), len(b))
    return (a[depth] if depth < len(a) else None), (b[depth] if depth < len(b) else None)
