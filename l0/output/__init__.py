"""Structured output: schema-checked runs, partial objects while streaming, JSON helpers.

The public names are exported by :mod:`l0` (``l0.structured``, ``l0.extract_json``, …). This
package re-exports nothing on purpose: importing one of its modules binds ``l0.output``, never
a name that shadows a function of :mod:`l0`.
"""
