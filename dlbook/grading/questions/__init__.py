"""The registered exercises, one module per chapter (``ch01.py`` registers ``ch01.*``).

Each module builds :class:`dlbook.grading.registry.Question` entries: an input generator per
suite, a reference implementation derived independently of the solution notebook (torch
autograd where the answer is a gradient), and the points. Importing a module registers its
questions; :func:`dlbook.grading.registry.get` imports the right one on first use.
"""
