"""Evaluation suite: gold questions -> batch answers from each system -> metrics and reports.

Modules: ``metrics`` (pure scoring), ``systems`` (ours and the baselines behind one batch
interface), ``run`` (the run and its report files). Imports nothing heavy.
"""
