"""The reply libraries on their own, on the same labelled cases as `make eval`.

Run `python -m bench.libraries` (or `make eval-libraries`). Issue 3 asked to pick
libraries by measurement: this runs email-reply-parser, mail-parser-reply and
quotequail, each alone, through every labelled case that scores what an
author wrote (talon, email_reply_parser, mail-parser-reply's newest reply,
quotequail's quote cases) and prints each set's score next to mailfeed's. The
cases, labels and comparisons are bench/accuracy.py's; only the function that
says what the author wrote is swapped (`accuracy.visible_parts`).

How each library is given a case: a whole message gives its first text/plain
part (stdlib); HTML goes to quotequail's `quote_html`, and to the two text-only
libraries as mailfeed's text rendering of it (`html_text.html_to_text`).
mail-parser-reply reads with all its languages on; quotequail with
`quote_intro_line` (the "On … wrote:" line goes with the quote, as the labels
and mailfeed have it), and it splits quotes only: its signature is always empty. The forward sets are not run here: of
the three, only quotequail unwraps forwards, and mailfeed's forward step is
quotequail with mailfeed's rules around it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import accuracy
from gateway.html_text import html_to_text
from gateway.message import ReplyParts

Adapter = Callable[[str, "str | bytes"], ReplyParts]
SETS = (
    "talon/standard_replies",
    "talon/html_replies",
    "talon/signature_stripped",
    "talon/text_quotation_cases",
    "email_reply_parser",
    "mail-parser-reply",
    "quotequail/quote_text",
    "quotequail/quote_html",
)
INSTALL = "pip install email-reply-parser==0.5.12 mail-parser-reply==1.36"


def _plain(kind: str, body: str | bytes) -> str:
    """The case as plain text, for a library that reads only text."""
    if kind == "eml":
        return accuracy.first_text_part(body if isinstance(body, bytes) else body.encode())
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return html_to_text(text) if kind == "html" else text


def email_reply_parser(kind: str, body: str | bytes) -> ReplyParts:
    from email_reply_parser import EmailReplyParser

    message = EmailReplyParser.read(_plain(kind, body))
    signature = "\n".join(f.content for f in message.fragments if f.signature)
    return ReplyParts(EmailReplyParser.parse_reply(_plain(kind, body)), "", signature)


def mail_parser_reply(kind: str, body: str | bytes) -> ReplyParts:
    from mailparser_reply import EmailReplyParser
    from mailparser_reply.constants import MAIL_LANGUAGES

    replies = EmailReplyParser(languages=list(MAIL_LANGUAGES)).read(_plain(kind, body)).replies
    if not replies:
        return ReplyParts("")
    return ReplyParts(replies[0].body, "", replies[0].signatures)


def quotequail(kind: str, body: str | bytes) -> ReplyParts:
    import quotequail as qq

    if kind == "html":
        html = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        chunks = qq.quote_html(html, quote_intro_line=True)
        return ReplyParts("\n".join(html_to_text(chunk) for shown, chunk in chunks if shown))
    chunks = qq.quote(_plain(kind, body), quote_intro_line=True)
    return ReplyParts("\n".join(chunk for shown, chunk in chunks if shown))


LIBRARIES: dict[str, Adapter | None] = {
    "mailfeed": None,  # accuracy.visible_parts itself: the whole pipeline
    "email-reply-parser": email_reply_parser,
    "mail-parser-reply": mail_parser_reply,
    "quotequail": quotequail,
}


@contextmanager
def _showing(adapter: Adapter | None) -> Iterator[None]:
    """bench.accuracy with `adapter` as what says what an author wrote."""
    if adapter is None:
        yield
        return
    kept = accuracy.visible_parts
    accuracy.visible_parts = adapter  # type: ignore[assignment]
    try:
        yield
    finally:
        accuracy.visible_parts = kept


def measure(root: Path) -> dict[str, dict[str, accuracy.SetResult]]:
    """Library → set → result, over the sets in SETS."""
    out: dict[str, dict[str, accuracy.SetResult]] = {}
    for name, adapter in LIBRARIES.items():
        with _showing(adapter):
            cases = (c for c in accuracy.all_cases(root) if c.set in SETS)
            out[name] = accuracy.run_cases(cases)
    return out


def report(results: dict[str, dict[str, accuracy.SetResult]], out: Callable[[str], object] = print) -> None:
    names = list(results)
    out(f"{'set':30}" + "".join(f"{n:>22}" for n in names))
    totals = {n: [0, 0] for n in names}
    for s in SETS:
        row = f"{s:30}"
        for n in names:
            r = results[n].get(s)
            if r is None:
                row += f"{'-':>22}"
                continue
            totals[n][0] += r.matched
            totals[n][1] += r.total
            row += f"{f'{r.matched}/{r.total} ({r.pct:.0f}%)':>22}"
        out(row)
    out(f"{'all these cases':30}" + "".join(f"{f'{m}/{t} ({100 * m / t:.0f}%)':>22}" for m, t in totals.values()))


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    try:
        import email_reply_parser as _erp  # noqa: F401
        import mailparser_reply as _mpr  # noqa: F401
    except ImportError:
        print(f"the libraries to compare are not installed: {INSTALL}", file=sys.stderr)
        return 2
    root = accuracy.corpus_dir()
    if not root.is_dir():
        print(f"corpus not found at {root} (set MAILFEED_CORPUS)", file=sys.stderr)
        return 2
    report(measure(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
