"""Sphinx configuration of the workbook's book (`make book`; staged by tools/build_book.py).

The notebooks are rendered with their stored full-profile outputs: nothing is executed.
Everything the pages need ships in pip packages (theme assets, MathJax), so the build and
the pages work offline.
"""

project = "Compressing neural networks for phones and edge devices"
author = "the workbook's authors"
copyright = "the workbook's authors, Apache-2.0"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
language = "en"
# results/README.md goes from its title straight to "###" tables: not an error here.
suppress_warnings = ["myst.header"]

# Notebooks: stored outputs only, and a failure to render one is an error, not a blank page.
nb_execution_mode = "off"
nb_output_stderr = "remove"  # warnings on stderr are not part of the lesson
# A stored widget has no live kernel behind it: show its text/plain note, not an empty box.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}  # never load a widget manager from a CDN, even for a stored widget state

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3  # [text](03_distillation.ipynb#some-heading) links resolve

# MathJax 2.7 from the jupyter-server-mathjax package, copied into _static/mathjax by
# tools/build_book.py: a reader's browser loads no script from the network.
# The package ships the combined "-full" configuration and the STIX-Web fonts only.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
myst_update_mathjax = False  # its settings are for MathJax 3+; these are for 2.7
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processClass": "math", "ignoreClass": "tex2jax_ignore|mathjax_ignore"},
    "HTML-CSS": {"availableFonts": [], "imageFont": None, "preferredFont": None,
                 "webFont": "STIX-Web"},
}

html_theme = "sphinx_book_theme"
html_title = "Neural-network compression workbook"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_theme_options = {
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "use_download_button": True,
}
html_copy_source = True
