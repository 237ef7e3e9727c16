"""Test and benchmark support shared by ``tests/`` and ``bench/`` (neither imports the other).

Not part of the installed product: valid jobs (:mod:`testkit.factories`), finding or starting the real
services (:mod:`testkit.services`), multi-process stacks (:mod:`testkit.stacks`) and the chaos scenario
(:mod:`testkit.chaos_scenario`) that ``tests/test_chaos.py`` runs small and ``bench/chaos.py`` runs big.
"""
