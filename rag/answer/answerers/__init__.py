"""Answerers: one module per kind of answer, behind one interface (``base.Answerer``).

``choose.pick`` decides which one answers, from the parsed question's form and the evidence:
lookup (a figure), open (several cited points), compute (arithmetic done in code, formula shown),
table (one cited row per region or year, missing ones named), refuse (why no answer is possible).
"""
