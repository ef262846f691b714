"""One module per triage step; each exports ``STEP`` (see base.py and
workers/nlp/README.md). The registry finds them: nothing here lists them."""
