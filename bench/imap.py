"""IMAP first-sync benchmark: mailfeed against a bare fetch-and-parse baseline, in one run.

Run `python -m bench.imap` (`--quick` for a smoke run). A throw-away Dovecot
(tests/dovecot.py) on 127.0.0.1 gets a mailbox of realistic generated mail
(bench/mailgen.py, ~30 KB average), appended with MULTIAPPEND. Then, after
one untimed read of the whole mailbox so both sides find Dovecot's cache warm:

- baseline: imapclient in this process selects the folder read-only, fetches
  `BODY.PEEK[]` for every UID in batches of 100, and parses each message with
  `mailparser.parse_from_bytes` (touching .subject, .text_plain and
  .attachments), on one core;
- mailfeed: the wall time of the whole `mailfeed imap sync` command (a
  subprocess, fresh MAILFEED_DATA_DIR, default settings: SQLite, synchronous
  FULL, one worker process per CPU) until it exits, that is until every
  message is committed, parsed, threaded and indexed; then the entries are
  counted in the database.

The two run in turns, --rounds times (3 by default): this machine's speed
drifts by a fifth between minutes, and a ratio of two runs side by side is
what it leaves alone. It prints both rates and their ratio for each round,
then the median of the rounds' ratios with PASS/FAIL against the target
(>= 0.8); the exit status is 1 on FAIL. Every file lives in one temp dir,
removed at the end, and Dovecot is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import mailgen
from tests.dovecot import Dovecot

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "team", "bench-pass"
BATCH = 100


def fill(dovecot: Dovecot, messages: Sequence[bytes]) -> None:
    dovecot.add_user(USER, PASSWORD)
    dovecot.append(USER, messages, batch=BATCH)


def read_all(dovecot: Dovecot, *, parse: bool) -> tuple[float, int]:
    """Seconds to fetch (and optionally parse) the whole INBOX; and the number of messages."""
    import mailparser

    logging.getLogger("mailparser").setLevel(logging.ERROR)  # as gateway/parse.py does
    started = time.perf_counter()
    n = 0
    with dovecot.client(USER) as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search("ALL"))
        for i in range(0, len(uids), BATCH):
            for item in client.fetch(uids[i : i + BATCH], ["BODY.PEEK[]"]).values():
                n += 1
                if parse:
                    mail = mailparser.parse_from_bytes(item[b"BODY[]"])
                    _ = (mail.subject, mail.text_plain, mail.attachments)
    return time.perf_counter() - started, n


def mailfeed_sync(dovecot: Dovecot, tmp: Path) -> tuple[float, str, int]:
    """Seconds for `mailfeed imap sync` of a fresh feed; its summary line; entries in the database."""
    data = tmp / "mailfeed-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    env.update(MAILFEED_DATA_DIR=str(data), BENCH_IMAP_PASSWORD=PASSWORD, MAILFEED_LOG_LEVEL="WARNING")
    cmd = [sys.executable, "-m", "gateway"]
    subprocess.run(
        [
            *cmd,
            "feed",
            "add",
            "team",
            "team@example.com",
            "--imap",
            dovecot.url(USER),
            "--imap-password-env",
            "BENCH_IMAP_PASSWORD",
        ],
        env=env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    started = time.perf_counter()
    done = subprocess.run(
        [*cmd, "imap", "sync"], env=env, capture_output=True, text=True, cwd=ROOT, start_new_session=True, timeout=3600
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"mailfeed imap sync failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with sqlite3.connect(data / "mailfeed.sqlite3") as db:
        entries = db.execute("select count(*) from entry").fetchone()[0]
    return seconds, done.stdout.strip(), entries


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.imap",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--messages", type=int, default=5000, help="messages in the mailbox")
    p.add_argument("--seed", type=int, default=1, help="seed for the generated mail")
    p.add_argument("--target", type=float, default=0.8, help="mailfeed rate / baseline rate to pass")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="baseline and mailfeed runs, in turns; the median of the rounds' ratios counts",
    )
    p.add_argument("--quick", action="store_true", help="300 messages, one round: a smoke run, not a measurement")
    args = p.parse_args(argv)
    if args.quick:
        args.messages, args.rounds = 300, 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below
    tmp = Path(tempfile.mkdtemp(prefix="mailfeed-bench-imap-"))
    dovecot = Dovecot()
    try:
        messages = [m.data for m in mailgen.threads(args.messages, seed=args.seed, profile="realistic")]
        size = sum(map(len, messages))
        print(
            f"mailfeed IMAP bench: python {sys.version.split()[0]}, {len(os.sched_getaffinity(0))} usable CPUs, "
            f"{len(messages)} messages, {size / 1e6:.1f} MB ({size // len(messages) // 1000} KB average), "
            f"seed {args.seed}{', QUICK' if args.quick else ''}",
            flush=True,
        )
        dovecot.start()
        fill(dovecot, messages)
        warm, n = read_all(dovecot, parse=False)
        print(f"  fetch only (untimed warm-up): {n} messages in {warm:.1f} s ({n / warm:.0f} msg/s)")
        ratios: list[float] = []
        complete = True
        for r in range(1, args.rounds + 1):
            base_s, n_base = read_all(dovecot, parse=True)
            base = n_base / base_s
            print(
                f"  round {r}: baseline, imapclient BODY.PEEK[] + mail-parser, 1 core: "
                f"{n_base} in {base_s:.1f} s = {base:.0f} msg/s"
            )
            (tmp / f"round{r}").mkdir()
            mf_s, summary, entries = mailfeed_sync(dovecot, tmp / f"round{r}")
            rate = len(messages) / mf_s
            print(
                f"  round {r}: mailfeed `imap sync` (whole command, wall): {len(messages)} in {mf_s:.1f} s = "
                f"{rate:.0f} msg/s, {entries} entries"
            )
            for line in summary.splitlines():
                print(f"    | {line}")
            ratios.append(rate / base)
            complete = complete and entries == len(messages)
            print(f"  round {r}: ratio mailfeed/baseline = {ratios[-1]:.2f}")
        ratio = statistics.median(ratios)
        ok = ratio >= args.target and complete
        print(
            f"  ratio mailfeed/baseline, median of {len(ratios)} rounds = {ratio:.2f} "
            f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}; target >= {args.target}): {'PASS' if ok else 'FAIL'}"
        )
        return 0 if ok else 1
    finally:
        dovecot.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
