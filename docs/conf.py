"""Sphinx configuration of plmjax's docs site: the pages of docs/, the notebooks of colabs/ (executed at build
time with their small parameters) and an API reference from docstrings.

    pip install -c constraints.txt -e ".[test,docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "plmjax"
author = "the plmjax authors"
copyright = "the plmjax authors"  # noqa: A001 (Sphinx's name)

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "screenshots", "**/.ipynb_checkpoints"]

# Markdown: GitHub-style heading anchors, so links like design.md#the-peft-method-interface resolve.
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath", "colon_fence"]

# Notebooks (docs/colabs -> ../colabs) run in a fresh kernel at build time, each in a scratch directory; an error
# in a cell fails the build. The cache (in _build) reruns only notebooks that changed.
nb_execution_mode = "cache"
nb_execution_cache_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_build", ".jupyter_cache")
nb_execution_timeout = 900
nb_execution_in_temp = True
nb_execution_raise_on_error = True
nb_merge_streams = True

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": False}

html_theme = "sphinx_book_theme"
html_title = "plmjax"
html_theme_options = {"show_toc_level": 2, "home_page_in_toc": True}
# Offline: no web fonts or analytics are fetched by the theme's pages at build time.
html_static_path = ["_static"]
html_css_files = ["wide.css"]  # room for 110-character code lines and wide tables
