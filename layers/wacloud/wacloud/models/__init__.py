"""Typed models of every payload that crosses a boundary, one module per boundary."""
