"""Data the tests share: Meta's documented webhook bodies."""
