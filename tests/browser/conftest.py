"""One real `mailfeed serve` (SQLite) fed by real SMTP, and Debian's Chromium driven by Playwright.

The server and the mail are module-scoped: every browser test reads the same
feed. Screenshots go to test-artifacts/ (gitignored; CI keeps them).
"""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_mail, wait_for
from tests.servers import free_port, wait_for_port

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
XSS_HTML = """<html><head><meta http-equiv="refresh" content="0;url=javascript:window.pwned=1">
<base href="javascript:alert(1)//"><style>body{background:url(javascript:alert(1))}</style></head>
<body onload="alert('onload')">
<p>Totally normal newsletter.</p>
<script>alert('script'); window.pwned = 1</script>
<img src="x" onerror="alert('img')"><img src="javascript:alert('jsimg')">
<svg onload="alert('svg')"><script>alert('svgscript')</script></svg>
<a href="javascript:alert('link')" id="jslink">click me</a>
<a href="  JaVaScRiPt:alert('spaced')">spaced</a>
<iframe src="javascript:alert('iframe')"></iframe><iframe srcdoc="<script>alert('srcdoc')</script>"></iframe>
<object data="javascript:alert('object')"></object><embed src="javascript:alert('embed')">
<form action="javascript:alert('form')"><input type="submit" value="go" formaction="javascript:alert(2)"></form>
<math><mtext><table><mglyph><style><img src=x onerror="alert('mxss')"></style></mglyph></table></mtext></math>
<noscript><p title="</noscript><img src=x onerror=alert('noscript')>"></noscript>
<div style="background-image:url(javascript:alert('css'))" onclick="alert('click')">styled</div>
<details open ontoggle="alert('toggle')"><summary>x</summary></details>
<video><source onerror="alert('video')"></video>
</body></html>"""


@dataclass
class Site:
    url: str
    env: dict[str, str]
    thread_ids: dict[str, int]


def send(port: int, *mails: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for data in mails:
            client.sendmail("ann@example.com", ["team@example.com"], data)


def xss_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "\"<img src=x onerror=alert('from')>\" <mallory@example.com>"
    msg["To"] = "team@example.com"
    msg["Subject"] = "<script>alert('subject')</script> Hostile newsletter"
    msg["Date"] = "Mon, 02 Mar 2026 12:00:00 +0000"
    msg["Message-ID"] = "<xss@example.com>"
    msg.set_content("Plain part <script>alert('text')</script>")
    msg.add_alternative(XSS_HTML, subtype="html")
    msg.add_attachment(
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        maintype="image",
        subtype="svg+xml",
        filename="evil.svg",
    )
    msg.add_attachment(
        b"<script>alert('html attachment')</script>", maintype="text", subtype="html", filename="evil.html"
    )
    return msg.as_bytes()


def report_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ann Author <ann@example.com>"
    msg["To"] = "team@example.com"
    msg["Subject"] = "Budget with attachment"
    msg["Date"] = "Mon, 02 Mar 2026 11:00:00 +0000"
    msg["Message-ID"] = "<report@example.com>"
    msg.set_content("The budget is attached; the flamingo line item needs a look.\n")
    msg.add_attachment(b"%PDF-1.4 budget", maintype="application", subtype="pdf", filename="Q1 budget.pdf")
    return msg.as_bytes()


def hebrew_html_mail() -> bytes:
    """HTML-only Hebrew with no dir of its own: its paragraphs must read right to left."""
    msg = EmailMessage()
    msg["From"] = "Dana Levi <dana@example.org>"
    msg["To"] = "team@example.com"
    msg["Subject"] = "פגישת צוות מחר"
    msg["Date"] = "Mon, 02 Mar 2026 11:30:00 +0000"
    msg["Message-ID"] = "<hebrew@example.org>"
    msg.set_content("<p>שלום לכולם,</p><p>הפגישה מחר בשעה עשר, בחדר הישיבות.</p>", subtype="html")
    return msg.as_bytes()


def wide_alert_mail() -> bytes:
    """An alert's layout table holding preformatted lines far wider than a phone."""
    msg = EmailMessage()
    msg["From"] = "Alerts <alerts@example.org>"
    msg["To"] = "team@example.com"
    msg["Subject"] = "Triggered: disk usage"
    msg["Date"] = "Mon, 02 Mar 2026 11:40:00 +0000"
    msg["Message-ID"] = "<alert@example.org>"
    line = "disk_used_percent{host=db-primary-01,mount=/var/lib/postgresql,device=nvme0n1p1} > 90 for 10m " * 2
    msg.set_content(f"<table><tr><td><p>Alert firing:</p><pre>{line}</pre></td></tr></table>", subtype="html")
    return msg.as_bytes()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: run `make system-deps` (Debian package `chromium`)")
    d = Path(tempfile.mkdtemp(prefix="mailfeed-browser-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    env.update(
        MAILFEED_DATA_DIR=str(d / "data"),
        MAILFEED_SMTP_PORT=str(free_port()),
        MAILFEED_HTTP_PORT=str(free_port()),
        MAILFEED_SQLITE_SYNCHRONOUS="NORMAL",
        MAILFEED_WORKERS="1",
    )
    subprocess.run(
        [sys.executable, "-m", "gateway", "feed", "add", "team", "team@example.com", "--title", "The team"],
        env=env,
        check=True,
        capture_output=True,
    )
    log = (d / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(int(env["MAILFEED_HTTP_PORT"]), timeout=60)
        wait_for_port(int(env["MAILFEED_SMTP_PORT"]), timeout=60)
        smtp = int(env["MAILFEED_SMTP_PORT"])
        send(
            smtp,
            *[
                make_mail(message_id=f"old{i}@example.com", subject=f"Old topic {i}", minutes=-1000 + i)
                for i in range(52)
            ],
        )
        send(
            smtp,
            make_mail(message_id="plan@example.com", subject="Quarterly plan", minutes=10),
            make_mail(
                message_id="re-plan@example.com",
                subject="Re: Quarterly plan",
                in_reply_to="<plan@example.com>",
                sender="Bob Builder <bob@example.org>",
                minutes=20,
                body=(
                    "Sounds good to me.\n\nOn Mon, 2 Mar 2026, Ann Author wrote:\n> Hello team,\n> here is the plan.\n"
                ),
            ),
            report_mail(),
            xss_mail(),
            hebrew_html_mail(),
            wide_alert_mail(),
        )
        base = f"http://127.0.0.1:{env['MAILFEED_HTTP_PORT']}"
        threads = wait_for(lambda: (lambda ts: ts if len(ts) >= 57 else None)(_threads(base)), timeout=120)
        yield Site(base, env, {t["subject"]: t["id"] for t in threads})
    except Exception:
        print((d / "serve.log").read_text(errors="replace")[-5000:])
        raise
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def _threads(base: str) -> list[dict[str, Any]]:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{base}/api/feeds/team/threads?limit=200", timeout=10) as r:
        return json.load(r)["threads"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def base_url() -> None:
    """Replaces pytest-base-url's fixture (pytest 9 deprecates its form; tests use `site.url`)."""
    return None
