"""Ways in: SMTP (smtp.py), archives (mbox.py); each hands bytes to pipeline.deliver."""
