"""Who must do what, by when: the obligations catalogue, the CX scenario finder, assessment.

``catalogue`` reads ``obligations.yaml`` and dates its entries with :mod:`kb.law.dates`;
``scenario`` reads ``systems.yaml`` and builds checklists; ``schema`` validates data files.
"""
