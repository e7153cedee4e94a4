"""Steps 3 to 6 (parse, classify, unwrap, extract): pure, run in the worker processes.

`analyse` takes a Job (the raw bytes and what the feed's policy says) and
returns an Analysis, or a Failure naming the step. This module imports no
store, web or settings code, so a worker process needs only it: 0.3 s of
imports against 1.6 s for `gateway.pipeline`, paid once by the fork server
that preloads it (gateway/worker.py), not by each worker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from gateway import authenticity, thread
from gateway.classify import Verdict, classify
from gateway.extract import Content, content_of
from gateway.message import ParsedMessage
from gateway.parse import ParseError, parse
from gateway.spf import TempError

log = logging.getLogger("gateway.pipeline")  # one logger for the whole way a message takes


@dataclass(frozen=True)
class Job:
    """What a worker process needs to analyse one raw message."""

    raw_id: int
    data: bytes
    envelope_from: str | None
    allowed: frozenset[str]
    trusted: frozenset[str] = frozenset()  # authserv-ids whose Authentication-Results count
    verify_dkim: bool = False
    dns_resolver: str = "system"
    client_ip: str = ""  # SMTP only, for SPF
    helo: str = ""
    automated: frozenset[str] = frozenset()  # senders whose automatic mail is posted
    lists: frozenset[str] = frozenset()  # mailing lists whose rewritten From: is undone


@dataclass
class Analysis:
    """Steps 3–6 done: everything `place` and `commit` need, no bytes of the raw."""

    message_id: str
    chain: list[str]
    verdict: Verdict
    content: Content
    forward_key: str | None = None
    auth: str = ""  # what was verified about the sender
    index_key: str | None = None  # this message's Outlook Thread-Index, as a key (thread.thread_index_keys)
    index_chain: list[str] = field(default_factory=list)  # its ancestors' keys; only when `chain` is empty
    event_key: str | None = None  # the calendar event it schedules, as a key (thread.event_key)

    @property
    def named(self) -> list[str]:
        """Every id placing asks the store about: its own, its index key, its chain, its index chain, its event.

        The pipeline reads them ahead for the whole batch and `place` asks for them
        again: one list, so an id read ahead is never missing from the answer.
        """
        keys = [k for k in (self.index_key, self.event_key) if k]
        return [self.message_id, *keys, *self.chain, *self.index_chain]


@dataclass(frozen=True)
class Failure:
    step: str
    reason: str
    retry: bool = False  # DNS could not answer now: the same bytes may pass later
    message_id: str | None = None  # when the parse got that far: the quarantine list names it


def analyse(job: Job) -> Analysis | Failure:
    """Steps 3 to 6 on one message; pure, so it can run in a worker process."""
    step, message_id = "parse", None
    try:
        msg = parse(job.data)
        step, message_id = "classify", msg.message_id
        verdict = classify(msg, allowed=job.allowed, envelope_from=job.envelope_from, automated=job.automated)
        step = "authenticate"
        checked = authenticate(msg, job)
        if verdict.action == "post" and checked is not None and checked.must_hold:
            verdict = Verdict(
                "hold", f"DMARC failed for {checked.domain} (policy {checked.policy}, {checked.checked_by})"
            )
        step = "extract"
        content = content_of(msg, job.lists)
        chain = thread.reply_chain(msg.message_id, msg.in_reply_to, msg.references)
        index_key, index_chain = thread.thread_index_keys(msg.headers.get("thread-index"))
    except ParseError as exc:
        return Failure(step, str(exc), message_id=message_id)
    except TempError as exc:
        return Failure(step, f"DNS could not answer ({exc})", retry=True, message_id=message_id)
    except Exception as exc:  # a bug or a hostile message: quarantine, never crash
        log.exception("raw %s: %s failed", job.raw_id, step, extra={"raw_id": job.raw_id})
        return Failure(step, f"{type(exc).__name__}: {exc}", message_id=message_id)
    return Analysis(
        msg.message_id,
        chain,
        verdict,
        content,
        content.original_key,
        checked.summary if checked else "",
        index_key,
        [] if chain else index_chain,
        thread.event_key(msg.event_uid),
    )


def authenticate(msg: ParsedMessage, job: Job) -> authenticity.Verdict | None:
    """What a trusted relay's Authentication-Results say, else our own DKIM/DMARC check when enabled."""
    domain = msg.author.address.rpartition("@")[2]
    if not domain:
        return None
    found = authenticity.from_headers(msg.auth_results, job.trusted, domain) if job.trusted else None
    if found is None and job.verify_dkim:
        found = authenticity.verify(
            job.data,
            domain,
            authenticity.resolver_for(job.dns_resolver),
            client_ip=job.client_ip,
            helo=job.helo,
            mail_from=job.envelope_from or "",
        )
    return found
