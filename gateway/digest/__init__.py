"""Digests: one mail per reader and period instead of many.

schedule (when is a digest due) → collect (what is new since the reader's
cursor) → render (text + HTML) → send (SMTP relay), with runs.py keeping the
exactly-once ledger, recorder.py committing each relay answer to it before
that connection sends again, and dispatch.py putting them in that order.
"""
