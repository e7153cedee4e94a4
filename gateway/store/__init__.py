"""The store: tables (models), engines (db), reads and writes (queries), migrations."""
