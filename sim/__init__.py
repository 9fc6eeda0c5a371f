"""Demo and test helpers that stand in for people and upstream stages. Not product code: never imported by
``pipelines``.

- :mod:`sim.annotators`: simulated annotators working in a real Label Studio project;
- :mod:`sim.data`: a de-identified run with ground truth, written straight to storage;
- :mod:`sim.specs`: small valid specs of every annotation type.
"""
