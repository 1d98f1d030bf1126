"""Moved to :mod:`l0.errors.classify` (beside the error tree); kept importable here."""

from __future__ import annotations

from l0.errors.classify import classify, error_from_status, parse_retry_after

__all__ = ["classify", "error_from_status", "parse_retry_after"]
