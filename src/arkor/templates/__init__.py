"""Project templates (triage, translate, redaction, blank) and their bundled datasets."""
