"""Who must do what, by when: the obligations catalogue and the CX scenario finder.

``catalogue`` reads ``obligations.yaml`` and dates its entries with :mod:`kb.law.dates`.
"""
