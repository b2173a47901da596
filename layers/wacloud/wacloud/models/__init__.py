"""Typed models of every payload that crosses a boundary, one module per boundary.

Two conventions keep a cold start from paying for models its first event never validates: every
model is built on its first validation (`defer_build=True` on each module's base), and the modules
that define models do without `from __future__ import annotations` (pydantic would compile each
string annotation back into a type: about 10 ms over the processor's models); an annotation that
names a class defined further down is quoted. `tests/functions/test_cold_imports.py` holds both.
"""
