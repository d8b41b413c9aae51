"""Servers over :class:`kb.Assistant`: the HTTP API (:mod:`kb.serve.api`, FastAPI) and the
MCP server (:mod:`kb.serve.mcp`).  Both are thin: every answer, check and error comes from
the Assistant; this package only loads it once (:mod:`kb.serve.shared`), maps its records to
JSON (:mod:`kb.serve.schemas` documents the shapes) and turns its errors into HTTP or MCP
errors.
"""
