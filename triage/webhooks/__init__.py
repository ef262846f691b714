"""Inbound-mail webhooks: one thin view per provider, all feeding `email_ingest`.

auth.py checks signatures and credentials (constant time), body.py reads a capped
request body and parses provider forms, providers.py turns provider fields into MIME,
services.py holds the one write (replay token + ingest in one transaction).
"""
