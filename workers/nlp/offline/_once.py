"""One loaded object per key per process (models, heads, the spaCy pipeline).

The registry's cache, shared so every model of the worker is loaded once through
one mechanism (its lock is re-entrant: a head's factory asks for the encoder).
"""

from workers.nlp.registry import load_once as once

__all__ = ["once"]
