# The HTML book (jupyter-book 1.x), built offline. Included by the Makefile, which defines
# VENV, PY and STAMP (the virtualenv and its "installed" marker).
#
#   make assets       npm ci, then copy MathJax, RequireJS and the widget manager into
#                     book/_assets/ (once: a stamp file skips it until package.json,
#                     package-lock.json or this file change)
#   make book         the book for readers, into _build/html (open _build/html/index.html);
#                     says loudly when the repository's home (_config.yml) is not set
#   make colab        rewrite the Colab links and install cells of every notebook, the README
#                     and pyproject from repository.url in _config.yml (tools/colab_home.py)
#   make book-strict  every page rebuilt with warnings as errors, then tools/check_offline.py:
#                     no page may load anything from http(s)://
#   make test-browser the built book in headless Chromium (tests/browser): maths, figures,
#                     widgets, sidebar, search, console, no request off the machine;
#                     screenshots of every page into _build/screenshots/

JB         := $(VENV)/bin/jupyter-book
ASSETS     := book/_assets
ASSETS_OK  := $(ASSETS)/.installed
NPM_DIR    := node_modules
WIDGETS    := $(NPM_DIR)/@jupyter-widgets/html-manager/dist

assets: $(ASSETS_OK)

# npm ci installs exactly package-lock.json; install scripts are not needed (only copied files
# are used). The copy is rebuilt from scratch so a removed file never lingers. Of MathJax's
# top-level bundles only tex-chtml.js is used (latest.js would even load from a CDN); the
# folders hold the fonts and the components it loads on demand. The licences of what is copied
# go with it into $(ASSETS)/licenses/ (the built book's _static/licenses/): MathJax's, the
# widget manager's (ipywidgets' BSD-3 licence, shipped in its sibling package controls7, and
# the notices of the libraries bundled into it), Font Awesome's for the manager's fonts, and
# RequireJS's (its npm package has none beside require.js's header: tools/licenses/).
LICENSES   := $(ASSETS)/licenses
$(ASSETS_OK): package.json package-lock.json book.mk tools/licenses/requirejs-LICENSE.txt
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)/html-manager
	cp -R $(NPM_DIR)/mathjax/es5 $(ASSETS)/mathjax
	find $(ASSETS)/mathjax -maxdepth 1 -name '*.js' ! -name tex-chtml.js -delete
	cp $(NPM_DIR)/requirejs/require.js $(ASSETS)/require.js
	cp $(WIDGETS)/embed-amd.js $(WIDGETS)/*.woff $(WIDGETS)/*.woff2 $(WIDGETS)/*.ttf \
		$(WIDGETS)/*.eot $(WIDGETS)/*.svg $(ASSETS)/html-manager/
	mkdir -p $(LICENSES)
	cp $(NPM_DIR)/mathjax/LICENSE $(LICENSES)/mathjax-LICENSE.txt
	cp tools/licenses/requirejs-LICENSE.txt $(LICENSES)/requirejs-LICENSE.txt
	cp $(NPM_DIR)/@jupyter-widgets/controls7/LICENSE $(LICENSES)/html-manager-LICENSE.txt
	cp $(WIDGETS)/embed.js.LICENSE.txt $(LICENSES)/html-manager-bundled-LICENSES.txt
	cp $(NPM_DIR)/@fortawesome/fontawesome-free/LICENSE.txt \
		$(LICENSES)/html-manager-fonts-fontawesome-LICENSE.txt
	touch $@

# Sphinx copies the static folders only when it writes pages, and it does not notice that a
# static file changed: a newer asset or loader script than the last build forces --all.
STATIC_SRC := $(ASSETS_OK) $(wildcard book/_static_local/*)
STALE      = $(shell find $(STATIC_SRC) -newer _build/html/objects.inv 2>/dev/null || echo x)

book: $(STAMP) $(ASSETS_OK)
	@$(PY) tools/colab_home.py --warn
	$(JB) build . --keep-going $(if $(STALE),--all)
	@echo "The book is in _build/html: open _build/html/index.html"
	@$(PY) tools/colab_home.py --warn

.PHONY: colab
colab: $(STAMP)
	$(PY) tools/colab_home.py

# --all rebuilds every page, so warnings from pages unchanged since the last build count too.
book-strict: $(STAMP) $(ASSETS_OK)
	$(JB) build . --all -W -n --keep-going
	$(PY) tools/check_offline.py _build/html

# Needs Chromium at /usr/bin/chromium (.ci/run installs it); the tests skip, saying so, without
# it. Uses whatever _build/html holds: `make test` runs it right after book-strict.
test-browser: $(STAMP)
	$(PY) -m pytest tests/browser -n $(JOBS) --dist loadgroup -q --durations=5
