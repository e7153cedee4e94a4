"""The read side over HTTP: JSON API, pages and attachments. Reads the store only."""
