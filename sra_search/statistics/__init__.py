"""The statistics every claim of gain rests on, in one package: the sign of a gain (``gain``),
paired tests with intervals, p-values and Holm's correction (``paired``), the cases a verdict
needs (``power``), and the simulation that checks the tests' error rates (``simulation``).

Needs the ``[stats]`` extra (SciPy, statsmodels) except for ``gain``; never imports torch.
"""
