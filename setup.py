"""Build the optional compiled checks of the envelope hot path.

Everything else is declared in pyproject.toml.  Without a C compiler the
install still succeeds and sim.envelopes runs the same checks in Python.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sim.envelopes._speedups",
            ["sim/envelopes/_speedups.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
