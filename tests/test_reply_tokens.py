"""The tokenizer's one-match path for whole start tags reads every tag as its scanner does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import reply_tokens
from gateway.reply_tokens import Token, tokenize
from tests.conftest import corpus_dir

NEVER = re.compile(r"(?!)")
DATA = Path(__file__).parent / "data"


def scanned(html: str, monkeypatch: pytest.MonkeyPatch) -> list[Token]:
    """Tokens with the one-match path switched off: the scanner reads every tag."""
    with monkeypatch.context() as m:
        m.setattr(reply_tokens, "_WHOLE_TAG", NEVER)
        return tokenize(html)


names = st.one_of(
    st.sampled_from(["a", "P", "div", "br", "img", "blockquote", "style", "title", "x-y:z", "h1"]),
    st.text("abcXYZ-:_1", min_size=60, max_size=70),  # around the 65-character cap of a tag name
)
attr_names = st.one_of(
    st.sampled_from(["href", "CLASS", "id", "type", "data-x", "on:click", "checked", "é", 'a"b', "x'y"]),
    st.text("abc", min_size=250, max_size=260),  # around the 256-character cap of an attribute name
)
values = st.one_of(
    st.text("ab \"'=<>/`&;#x\n", max_size=12).map(lambda v: f'"{v}"'),
    st.text("ab \"'=<>/`&;#x\n", max_size=12).map(lambda v: f"'{v}'"),
    st.text("ab\"'=</`&;#x", max_size=8),
    st.sampled_from(['"never closed', "'never closed", "&amp;&lt;&#x41;&bogus;", ""]),
)
gaps = st.sampled_from([" ", "  ", "\n", "\t", "\xa0", "", "/", " / ", "//"])
ends = st.sampled_from([">", "/>", " />", " >", " / >", "//>", "", "\n>"])


@st.composite
def start_tags(draw: st.DrawFn) -> str:
    parts = [f"<{draw(names)}"]
    for _ in range(draw(st.integers(0, 4))):
        parts.append(draw(gaps) + draw(attr_names))
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(["=", " = ", "= ", " ="])) + draw(values))
    parts.append(draw(ends))
    return "".join(parts)


documents = st.lists(
    st.one_of(
        start_tags(),
        st.text("ab <>\"'=/&;\n", max_size=10),
        st.sampled_from(["</a>", "</P >", "<!-- c -->", "<!doctype html>", "</style>"]),
    ),
    max_size=12,
).map("".join)


@given(html=documents)
@hypothesis.settings(
    max_examples=600, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
def test_generated_markup_gives_the_scanners_tokens(html: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert tokenize(html) == scanned(html, monkeypatch)


@pytest.mark.parametrize(
    "html",
    [
        "<a href=\"x>y\" title='q' data-x=1 checked>",
        '<p class=a"b>',  # a quote inside an unquoted value
        '<p class="never closed>',  # an unclosable quote: the "<" is text
        "<a b=c/>",
        '<a b="1"c="2">',  # no space between attributes: the scanner's way
        "<img src=x alt= >",
        '<a href= href = ";=">',  # after "= " the next word is the value; the quote then never closes
        "<" + "a" * 70 + " b>",  # a tag name past its cap
        "<a " + "n" * 300 + "=1>",  # an attribute name past its cap
        "<a " + " ".join(f"x{i}" for i in range(300)) + ">",  # more attributes than are kept
    ],
)
def test_edge_cases_give_the_scanners_tokens(html: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert tokenize(html) == scanned(html, monkeypatch)


def test_the_one_match_path_reads_what_it_should() -> None:
    """Not only equal to the scanner: right (a bug in both would pass the comparisons)."""
    tokens = tokenize("<A HREF=\"x>y\" title='&amp;' data-x=1 checked/>")
    assert tokens == [
        Token(
            "start",
            "a",
            (("href", "x>y"), ("title", "&"), ("data-x", "1"), ("checked", "")),
            "<A HREF=\"x>y\" title='&amp;' data-x=1 checked/>",
        )
    ]


def _html_parts(root: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in ("", ".eml", ".txt", ".msg", ".html"):
            continue
        raw = path.read_bytes()
        if path.suffix == ".html":
            yield str(path), raw.decode("utf-8", "replace")
            continue
        try:
            msg = message_from_bytes(raw, policy=policy.compat32)
            for part in msg.walk():
                if part.get_content_type() == "text/html":
                    payload = part.get_payload(decode=True)
                    if isinstance(payload, bytes):
                        yield str(path), payload.decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - malformed mail is the corpus's point; the pipeline tests cover it
            continue


@pytest.mark.parametrize("where", ["fixtures", "corpus"])
def test_every_html_part_in_the_fixtures_and_corpus_gives_the_scanners_tokens(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, least = (DATA, 4) if where == "fixtures" else (corpus_dir(), 50)
    parts = list(_html_parts(root))
    assert len(parts) >= least
    differ = [path for path, html in parts if tokenize(html) != scanned(html, monkeypatch)]
    assert differ == []
