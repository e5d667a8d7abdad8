"""Which packages the distribution installs; everything else is in pyproject.toml.

Every package under rag/ is found by name (a new subpackage needs no edit here), and the repository's
eval/ folder installs as ``rag.eval``: the repo keeps eval/ at its root (``python -m eval.run`` from a
checkout), while an install puts nothing generic (``eval``, ``ui``) at the top level of site-packages.
NOTE: pyproject.toml's ``[tool.setuptools.packages.find]`` cannot add a package that lives under
another name on disk, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["rag", "rag.*"]) + ["rag.eval"],
    package_dir={"rag.eval": "eval"},
)
