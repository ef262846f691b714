"""Test models for workers.nlp: never imported by the runtime (tests, benchmarks and
``manage.py build_tiny_models`` use it)."""
