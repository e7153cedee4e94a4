"""Reply styles of the common mail clients, one fixture each, through the real analysis step.

Each fixture is the multipart/alternative (or plain) reply the client sends; the
test pins what an entry shows: the new text, the quoted history and signature kept
apart, and HTML cut before the client's quote. Class and id attributes are
stripped by the sanitizer whatever the cut, so the HTML checks look for the
quoted words and the reply header instead of the client's marker.
"""

from __future__ import annotations

from gateway.extract import Content
from gateway.sanitize import html_to_text
from tests.helpers import analysed_fixture


def html_of(content: Content) -> str:
    assert content.html is not None
    return content.html


def test_gmail_android_reply_is_cut_at_gmail_quote_in_text_and_html() -> None:
    content = analysed_fixture("gmail-android-reply.eml").content
    html = html_of(content)
    assert content.text == "Yes, I can take the Thursday evening shift."
    assert content.quoted_text.startswith("On Mon, 2 Mar 2026, 18:01 Bo Berg, <bo@example.com> wrote:")
    assert "> Who can cover Thursday evening at the desk?" in content.quoted_text
    assert content.signature == ""
    assert html_to_text(html) == "Yes, I can take the Thursday evening shift."
    assert "Who can cover" not in html and "wrote:" not in html


def test_gmail_ios_header_wrapped_over_two_lines_starts_the_history() -> None:
    content = analysed_fixture("gmail-ios-reply.eml").content
    html = html_of(content)
    assert content.text == "Sounds good, I will be there at 7."
    assert content.quoted_text.startswith("On Mon, Mar 2, 2026 at 18:01 Bo Berg <bo@example.com>\nwrote:")
    assert "> Dinner at 7 on Tuesday" in content.quoted_text
    assert html_to_text(html) == "Sounds good, I will be there at 7."
    assert "Dinner at 7" not in html and "wrote:" not in html


def test_apple_mail_quoted_printable_reply_is_cut_above_on_wrote_and_blockquote_cite() -> None:
    content = analysed_fixture("apple-mail-blockquote-cite.eml").content
    html = html_of(content)
    assert content.text == "Agreed \u2014 let\u2019s move it to Friday. I will update the invite."
    assert content.quoted_text.startswith("> On 2 Mar 2026, at 18:01, Bo Berg <bo@example.com> wrote:")
    assert "> Can we move the review to Friday?" in content.quoted_text
    assert html_to_text(html) == "Agreed \u2014 let\u2019s move it to Friday. I will update the invite."
    assert "Can we move" not in html and "wrote:" not in html
    assert "<blockquote" not in html


def test_thunderbird_html_reply_is_cut_at_moz_cite_prefix_and_keeps_the_signature_apart() -> None:
    content = analysed_fixture("thunderbird-moz-cite-prefix.eml").content
    html = html_of(content)
    assert content.text == "The numbers look right to me. I only changed the rounding in row 12."
    assert content.signature == "--\nAna Lima\nFinance, Example Org\n+49 30 1234567"
    assert content.quoted_text.startswith("On 02.03.26 18:01, Bo Berg wrote:\n> Please check the Q1 numbers")
    assert "Ana Lima" not in content.quoted_text
    # the cut falls at moz-cite-prefix, below the signature the author put above the quote
    assert html_to_text(html).startswith("The numbers look right to me. I only changed the rounding in row 12.")
    assert html.rstrip().endswith("+49 30 1234567</pre>")
    assert "Please check" not in html and "wrote:" not in html
    assert "<blockquote" not in html


def test_yahoo_reply_is_cut_at_yahoo_quoted_and_its_indented_header() -> None:
    content = analysed_fixture("yahoo-reply.eml").content
    html = html_of(content)
    assert content.text == "I will bring the projector and the long HDMI cable."
    header = "On Monday, March 2, 2026 at 06:01:00 PM GMT+1, Bo Berg <bo@example.com> wrote:"
    assert content.quoted_text.lstrip().startswith(header)
    assert "Who can bring the projector on Wednesday?" in content.quoted_text
    assert html_to_text(html) == "I will bring the projector and the long HDMI cable."
    assert "Who can bring" not in html and "wrote:" not in html


def test_outlook_desktop_word_html_is_cut_at_the_border_top_from_block() -> None:
    content = analysed_fixture("outlook-desktop-html-border-top.eml").content
    html = html_of(content)
    assert content.forward is None  # a From:/Sent: block under "RE:" is history, not a forward
    assert content.text == "Yes, the February invoice went out this morning.\n\nCarl"
    assert content.quoted_text.startswith(
        "________________________________\nFrom: Bo Berg <bo@example.com>\nSent: Monday, March 2, 2026 6:01 PM"
    )
    assert "Did the February invoice go out yet?" in content.quoted_text
    assert html_to_text(html) == "Yes, the February invoice went out this morning.\n\nCarl"
    assert "Did the February invoice" not in html
    assert "From:" not in html and "Sent:" not in html


def test_outlook_mobile_get_outlook_for_ios_is_the_signature_and_divrplyfwdmsg_the_history() -> None:
    content = analysed_fixture("outlook-mobile-get-outlook-for.eml").content
    html = html_of(content)
    assert content.forward is None
    assert content.text == "Sure, 10:00 works for me."
    assert content.signature == "Get Outlook for iOS<https://aka.ms/o0ukef>"
    assert content.quoted_text.startswith("________________________________\nFrom: Bo Berg <bo@example.com>")
    assert "Can we have the call at 10:00 tomorrow" in content.quoted_text
    assert html_to_text(html).startswith("Sure, 10:00 works for me.")
    assert "Can we have the call" not in html
    assert "From:" not in html and "<hr" not in html


def test_protonmail_reply_is_cut_at_protonmail_quote_and_original_message() -> None:
    content = analysed_fixture("protonmail-quote.eml").content
    html = html_of(content)
    assert content.forward is None
    assert content.text == "Friday works for me, let's do 14:00."
    assert content.signature == "Sent with Proton Mail secure email."
    assert content.quoted_text.startswith(
        "------- Original Message -------\nOn Monday, March 2nd, 2026 at 18:01, Bo Berg <bo@example.com> wrote:"
    )
    assert "> Shall we meet on Friday afternoon" in content.quoted_text
    assert html_to_text(html).startswith("Friday works for me, let's do 14:00.")
    assert "Shall we meet" not in html
    assert "Original Message" not in html and "wrote:" not in html


def test_samsung_sent_from_line_with_full_stop_is_the_signature() -> None:
    content = analysed_fixture("android-sent-from-samsung.eml").content
    assert content.forward is None
    assert content.text == "I'll be there at 7, save me a seat."
    assert content.signature == "Sent from my Samsung Galaxy smartphone."
    assert content.quoted_text.startswith("-------- Original message --------\nFrom: Bo Berg <bo@example.com>")
    assert content.quoted_text.endswith("What time are you coming on Tuesday?")
    assert content.html is None


def test_dash_dash_space_signature_above_the_quote_is_split_off() -> None:
    content = analysed_fixture("dash-dash-signature.eml").content
    assert content.text == "I have pushed the fix to the release branch; the nightly build will\npick it up."
    assert content.signature == "--\nDana Weiss\nRelease Engineering\nhttps://example.net/~dana"
    assert content.quoted_text == (
        "On Mon, 2026-03-02 at 18:01 +0100, Bo Berg wrote:\n> Is the fix in the release branch yet?\n>\n> Bo"
    )


def test_bottom_posted_short_answer_is_the_text_and_the_quote_above_it_is_history() -> None:
    # reply.py: a short remark under a single quoted block is new text, the block history
    content = analysed_fixture("bottom-posted-reply.eml").content
    assert content.text == "Yes, I have it. I will leave it at the front desk tomorrow morning."
    assert content.quoted_text == (
        "On Mon, Mar 02, 2026 at 06:01:00PM +0100, Bo Berg wrote:\n"
        ">Does anyone have the key to the storage room?\n>\n>Bo"
    )
    assert content.signature == ""
    assert content.snippet == "Yes, I have it. I will leave it at the front desk tomorrow morning."
