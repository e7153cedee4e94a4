"""mailfeed: an email-to-feed gateway. See README.md for the way a message takes."""

__version__ = "0.1.0"
