"""Servers over :class:`kb.Assistant`: the HTTP API (:mod:`kb.serve.api`, FastAPI) and the
MCP server (:mod:`kb.serve.mcp`).  Both are thin: every answer, check and error comes from
the Assistant; this package only loads it once (:mod:`kb.serve.shared`), maps its records to
JSON (:mod:`kb.serve.schemas` documents the shapes) and turns its errors into HTTP or MCP
errors.

Adding an operation (``POST /assess`` and an ``assess_system`` tool once the assessment
exists) takes a request and a response model in ``schemas.py``, a route on ``router`` in
``api.py`` that calls one Assistant method and returns its JSON, and a tool in
``mcp.build_server`` with a text rendering; errors, the token and the start-up need nothing new.
"""
