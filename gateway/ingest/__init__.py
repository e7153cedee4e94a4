"""Ways in: SMTP (smtp.py), IMAP (imap.py), archives (archive.py, with backfill.py); each stores raw bytes first."""
