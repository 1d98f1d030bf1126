"""Orchestration over many runs: parallel/race/batched, consensus, pipelines, windows, pools.

The public names are exported by :mod:`l0` (``l0.parallel``, ``l0.consensus``, …). This
package re-exports nothing on purpose: a module here may share its name with a public
function of :mod:`l0` without ever shadowing it (``import l0.orchestration.consensus`` binds
``l0.orchestration``, never ``l0.consensus``).
"""
