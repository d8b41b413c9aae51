"""Ranking passages for a question: hybrid retrieval over the law in force on a date.

``retrieval`` fuses the dense, lexical and structural lists; ``synonyms.toml`` maps CX
wording to legal wording.
"""
