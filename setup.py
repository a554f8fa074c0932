import pathlib

from setuptools import find_packages, setup

setup(
    name="plmjax",
    version="0.1.0",
    description="Pretraining and adapting pretrained language models in JAX/Flax",
    long_description=pathlib.Path(__file__).with_name("README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["plmjax", "plmjax.*"]),
    install_requires=[
        "jax>=0.7",
        "flax>=0.11",
        "optax>=0.2.5",
        "orbax-checkpoint>=0.11",
        "transformers>=4.50",
        "tokenizers>=0.21",
        "tensorflow-datasets>=4.9",
        # tfds imports it to prepare catalog datasets but declares it only for Python < 3.9.
        "importlib_resources>=6",
        "ml-collections>=1.0",
        "safetensors>=0.5",
        "numpy>=1.26",
        "scipy>=1.11",
        # TensorBoard event files without TensorFlow (plmjax.train.writers).
        "tensorboardX>=2.6",
    ],
    extras_require={
        # torch is pinned by .ci/run to the CPU build; it and peft are references for the parity tests.
        "test": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "ruff>=0.6",
            "scikit-learn>=1.4",
            "peft>=0.15",
            "sentence-transformers>=5",
            # tests/notebooks executes the notebooks of colabs/ (pytest --run-notebooks), which plot.
            "nbformat>=5.9",
            "nbclient>=0.10",
            "ipykernel>=6.29",
            "matplotlib>=3.8",
        ],
        # The figures benchmarks draw (benchmarks/probing_layers.py --figure); nothing in plmjax needs it.
        "bench": ["matplotlib>=3.8"],
        # The docs site (docs/conf.py): Sphinx + myst-nb, which executes the notebooks (with the "test" extra).
        "docs": ["sphinx>=8", "myst-nb>=1.2", "sphinx-book-theme>=1.1"],
    },
)
