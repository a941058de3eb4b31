#!/usr/bin/env bash
# Installs the Debian 12 packages libbilling builds and tests with.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config       # compilers, build
	libsqlite3-dev                         # SQLite storage backend
	libpq-dev                              # PostgreSQL storage backend
	libcjson-dev                           # JSON operation layer
	libssl-dev                             # SHA-256/HMAC (cursors, checksums), randomness
	libcurl4-openssl-dev                   # Stripe provider and webhook delivery: HTTPS client
	libcmocka-dev                          # unit and e2e tests
	g++                                    # headers compile as C++ (tests/headers)
	valgrind                               # memcheck run of the unit suite
	libmicrohttpd-dev                      # examples/billing-server: HTTP (thread pool)
	libargon2-dev                          # examples/billing-server: argon2id password hashes
	python3                                # tests/http: the server's HTTP suite (stdlib only)
	python3-venv                           # bindings/python: pip install into a venv (PEP 668)
	clang libclang-rt-14-dev               # scripts/fuzz.sh: libFuzzer, ASan, UBSan (clang 14)
	clang-tidy cppcheck                    # scripts/lint.sh: static analysis, no findings allowed
	llvm-14                                # scripts/coverage.sh: llvm-profdata, llvm-cov (the figures, the floor)
	chromium chromium-driver               # tests/http/test_console.py: the console in a real, headless browser
	python3-selenium                       # ... driven by WebDriver (Debian's python3; the test adds its path)
	libcairo2-dev                          # PDF invoice documents: cairo draws the PDF (BILLING_PDF)
	libpango1.0-dev                        # PDF invoice documents: pango (pangocairo) shapes the text
	fonts-noto-core                        # PDF fonts: Latin, Cyrillic, Greek, Arabic, Hebrew (embedded, subset)
	fonts-noto-cjk                         # PDF fonts: Chinese, Japanese, Korean
	libxml2-dev                            # the e-invoice: libxml2 writes the CII XML (tests parse it back)
	libxml2-utils                          # e2e_documents: xmllint --noout, the e-invoice is well-formed XML
	libqpdf-dev                            # Factur-X: qpdf's C API makes the PDF PDF/A-3 with the XML attached (BILLING_FACTURX)
	icc-profiles-free                      # Factur-X: the sRGB ICC profile compiled into the output intent (zlib licence)
	qpdf                                   # e2e_documents: qpdf --check of every PDF, qpdf --json of the Factur-X objects
	poppler-utils                          # e2e_documents, http_documents: pdftotext, pdftoppm (reference image), pdfimages (the logo), pdfdetach and pdffonts (Factur-X)
)

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The tests start their own PostgreSQL 15 server (scripts/with-postgres.sh):
# the image may carry the server binaries already; else Debian's package.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	missing+=(postgresql-15)
fi
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client-15)
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# bindings/node: koffi (prebuilt for each platform: no compiler at install
# time) and, for the type test, typescript, from the npm registry, pinned by
# package-lock.json. Node and npm from Debian when the machine has none.
node_dir="$(cd "$(dirname "$0")/.." && pwd)/bindings/node"
if [ ! -d "$node_dir/node_modules/koffi" ] || [ ! -d "$node_dir/node_modules/typescript" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "deps: installing nodejs npm"
		$SUDO apt-get update -qq
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			nodejs npm >/dev/null
	fi
	echo "deps: npm ci in bindings/node"
	npm ci --no-audit --no-fund --prefix "$node_dir"
fi

# tests/openapi: @redocly/cli, the OpenAPI linter of ctest openapi_lint, from
# the npm registry, pinned by its package-lock.json (docs/dependencies.md).
lint_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/openapi"
if [ ! -x "$lint_dir/node_modules/.bin/redocly" ]; then
	echo "deps: npm ci in tests/openapi"
	npm ci --no-audit --no-fund --prefix "$lint_dir"
fi

# console/: uPlot, the dashboard's chart library (copied beside the console's
# files at build, installed with them), and axe-core, the accessibility check
# of the browser test, from the npm registry, pinned by package-lock.json
# (docs/dependencies.md).
console_dir="$(cd "$(dirname "$0")/.." && pwd)/console"
if [ ! -d "$console_dir/node_modules/uplot" ] || [ ! -d "$console_dir/node_modules/axe-core" ]; then
	echo "deps: npm ci in console"
	npm ci --no-audit --no-fund --prefix "$console_dir"
fi
