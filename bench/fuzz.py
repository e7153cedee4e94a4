"""Coverage-guided fuzzing of the pipeline's pure steps with atheris (libFuzzer).

    python -m bench.fuzz [--seconds 60] [-atheris_runs=N] [other libFuzzer flags]

Each input is one of: a raw message as it came off the wire (seeded from
tests/data/eml/ and the messages of tests/data/threads/), an HTML body for
`sanitize_html`, or a body wrapped in a header block whose content type, charset
and transfer encoding the input chooses. The properties are the ones
tests/test_fuzz.py checks with hypothesis:

- `analysis.analyse` returns an Analysis or a Failure; no exception escapes, and none
  is caught inside it either (a caught exception is a bug that quarantines mail);
- `sanitize_html`, and an Analysis' HTML, never hold executable content
  (`executable_content` below says what that is).

Bounded in time (`--seconds`, libFuzzer's -max_total_time) and, if given, in runs.
Exits 0 when nothing was found; a finding prints the input and the failed
property, saves the input as crash-* in the working directory, and exits non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "tests" / "data" / "eml"
THREAD_SEEDS = ROOT / "tests" / "data" / "threads"

# Elements that run code, load documents, submit data or restyle the page.
FORBIDDEN_TAGS = frozenset(
    [
        "script",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "form",
        "input",
        "button",
        "textarea",
        "select",
        "base",
        "meta",
        "link",
        "svg",
        "math",
        "style",
        "template",
        "noscript",
        "portal",
    ]
)
URL_ATTRIBUTES = frozenset(
    ["href", "src", "data-src", "action", "formaction", "background", "poster", "cite", "xlink:href", "srcset"]
)
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
# How a browser reads a URL (WHATWG URL standard): C0 controls and spaces around it are
# stripped, tabs and newlines anywhere are removed; any other character inside a
# scheme ends it (then the URL is relative, harmless).
_URL_EDGES = "".join(chr(c) for c in range(0x21))
_URL_REMOVED = re.compile(r"[\t\n\r]")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction <?{data}>")

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_TAGS or ":" in tag:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> (event handler)")
            elif name in ("style", "srcdoc", "http-equiv"):
                self.problems.append(f"<{tag} {name}=…>")
            elif name in URL_ATTRIBUTES and value is not None:
                scheme = _URL_REMOVED.sub("", value.strip(_URL_EDGES)).lower()
                if scheme.startswith(BAD_SCHEMES):
                    self.problems.append(f"<{tag} {name}={value!r}> (active URL)")


def executable_content(markup: str) -> list[str]:
    """What in `markup` (sanitized HTML) could run, load or submit something; [] when nothing."""
    collector = _Collector()
    collector.feed(markup)
    collector.close()
    # a comment could hide conditional-comment markup from old browsers; sanitize_html strips them
    if "<!--" in markup:
        collector.problems.append("comment")
    return collector.problems


class FoundBug(AssertionError):
    """A property failed; the message says which."""


def check_sanitize(markup: str) -> None:
    from gateway.sanitize import sanitize_html

    clean = sanitize_html(markup)
    problems = executable_content(clean)
    if problems:
        raise FoundBug(f"sanitize_html left {problems} in {clean!r}")
    if sanitize_html(clean) != clean:  # a second pass changing it hints at parser differentials (mXSS)
        again = executable_content(sanitize_html(clean))
        if again:
            raise FoundBug(f"sanitize_html twice left {again}")


class _CaughtInside(logging.Handler):
    """Collects the exceptions analyse catches and logs (bugs turned into quarantine)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


_caught = _CaughtInside()


def watch_pipeline_log() -> _CaughtInside:
    """Install (once) and clear the handler that sees exceptions analyse caught."""
    logger = logging.getLogger("gateway.pipeline")
    if _caught not in logger.handlers:
        logger.addHandler(_caught)
    _caught.records.clear()
    return _caught


def check_analyse(data: bytes) -> object:
    """Run precheck and analyse on `data`; raise FoundBug when a property fails; return analyse's result."""
    from gateway.analysis import Analysis, Failure, Job, analyse
    from gateway.pipeline import Rejected, precheck

    with contextlib.suppress(Rejected):  # step 1 sees every message first: it may refuse, never crash
        precheck(data, max_bytes=25 * 1024 * 1024)
    caught = watch_pipeline_log()
    result = analyse(Job(raw_id=0, data=data, envelope_from="ann@example.com", allowed=frozenset()))
    if not isinstance(result, Analysis | Failure):
        raise FoundBug(f"analyse returned {type(result).__name__}")
    if caught.records:
        record = caught.records[0]
        trace = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
        raise FoundBug(f"analyse caught an exception inside ({record.getMessage()}):\n{trace}")
    if isinstance(result, Analysis) and result.content.html:
        problems = executable_content(result.content.html)
        if problems:
            raise FoundBug(f"an entry's HTML holds {problems}")
    return result


# atheris ---------------------------------------------------------------------

CONTENT_TYPES = [
    "text/plain",
    "text/html",
    "multipart/mixed",
    "multipart/alternative",
    "multipart/related",
    "message/rfc822",
    "multipart/report",
    "application/octet-stream",
    "text/enriched",
    "image/svg+xml",
]
CHARSETS = [
    "utf-8",
    "iso-8859-1",
    "windows-1252",
    "koi8-r",
    "shift_jis",
    "utf-16",
    "utf-7",
    "gb2312",
    "x-unknown",
    "",
    "utf-8\x00",
    "iso-2022-jp",
    "cp65001",
    "unicode-1-1-utf-7",
]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "bogus", ""]


def _wrapped(fdp: object) -> bytes:
    """A header block chosen by the input around a body taken from the input."""
    pick = fdp.PickValueInList  # type: ignore[attr-defined]
    ctype, charset, cte = pick(CONTENT_TYPES), pick(CHARSETS), pick(ENCODINGS)
    boundary = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 12)).decode("latin-1")  # type: ignore[attr-defined]
    subject = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 80))  # type: ignore[attr-defined]
    head = (
        f"From: Ann <ann@example.com>\r\nTo: team@example.com\r\nMessage-ID: <fz@example.com>\r\n"
        f"Date: Mon, 2 Mar 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: {ctype}; charset="{charset}"; boundary="{boundary}"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n"
    ).encode("utf-8", "surrogateescape")
    body = fdp.ConsumeBytes(sys.maxsize)  # type: ignore[attr-defined]
    return head + b"Subject: " + subject.replace(b"\n", b" ") + b"\r\n\r\n" + body


def one_input(data: bytes) -> None:
    import atheris

    if not data:
        return
    mode, rest = data[0] % 4, data[1:]
    if mode == 0:
        check_analyse(rest)
    elif mode == 1:
        check_sanitize(rest.decode("utf-8", "replace"))
    elif mode == 2:
        check_analyse(_wrapped(atheris.FuzzedDataProvider(rest)))
    else:  # HTML inside a message: the path an HTML-only mail takes
        head = b"From: ann@example.com\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        check_analyse(head + rest)


def seed_corpus(directory: Path) -> None:
    """Each fixture as a raw message (mode 0) and its HTML bodies (mode 3)."""
    fixtures = sorted(SEEDS.glob("*.eml")) + sorted(THREAD_SEEDS.glob("*/*.eml"))  # threads: meetings, recalls, …
    for i, path in enumerate(fixtures):
        data = path.read_bytes()
        (directory / f"seed-{i}-raw").write_bytes(b"\x00" + data)
        for j, found in enumerate(re.findall(rb"<html.*?</html>", data, re.S | re.I)):
            (directory / f"seed-{i}-html-{j}").write_bytes(b"\x03" + found)
    samples = [
        b'<a href="jav&#x09;ascript:alert(1)">x</a><img src=x onerror=alert(1)><svg onload=alert(1)>',
        b'<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
        b"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    ]
    for k, sample in enumerate(samples):
        (directory / f"seed-xss-{k}").write_bytes(b"\x01" + sample)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="stop after this many seconds (default 60)")
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)  # set for the child process
    ours, libfuzzer = parser.parse_known_args(argv)
    try:
        import atheris
    except ImportError:
        print(
            "atheris is not installed: pip install atheris (a wheel exists for CPython 3.11 on x86-64)", file=sys.stderr
        )
        return 2
    if ours.corpus is None:
        return _supervise(ours.seconds, libfuzzer)
    logging.getLogger("gateway").setLevel(logging.ERROR)
    logging.getLogger("gateway").propagate = False  # caught exceptions are reported by the properties
    # coverage for mailfeed's code and the mail libraries it leans on, not for the ORM & co.
    with atheris.instrument_imports(include=["gateway", "mailparser", "quotequail"]):
        import gateway.extract  # noqa: F401
        import gateway.parse  # noqa: F401
        import gateway.pipeline  # noqa: F401
        import gateway.sanitize  # noqa: F401
    args = [
        sys.argv[0],
        f"-max_total_time={ours.seconds}",
        "-timeout=20",
        "-rss_limit_mb=2048",
        "-max_len=65536",
        "-print_final_stats=1",
        *libfuzzer,
        str(ours.corpus),
    ]
    atheris.Setup(args, one_input)
    atheris.Fuzz()  # libFuzzer ends the process itself
    return 0


def _supervise(seconds: int, libfuzzer: list[str]) -> int:
    """Seed a temporary corpus, fuzz in a child process (libFuzzer exits without cleanup), tidy up."""
    corpus = Path(tempfile.mkdtemp(prefix="mailfeed-fuzz-"))
    try:
        seed_corpus(corpus)
        print(
            f"fuzzing analyse and sanitize_html for {seconds} s from {len(list(corpus.iterdir()))} seeds "
            f"({SEEDS.relative_to(ROOT)} and a few XSS samples)",
            flush=True,
        )
        child = subprocess.run(
            [sys.executable, "-m", "bench.fuzz", f"--seconds={seconds}", f"--corpus={corpus}", *libfuzzer],
            cwd=Path.cwd(),
        )
    finally:
        shutil.rmtree(corpus, ignore_errors=True)
    verdict = "nothing found" if child.returncode == 0 else f"FOUND something (exit {child.returncode})"
    print(f"fuzz: {verdict}", flush=True)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
