# Everything a person runs, each target one line of shell. See README.md.
BUN := node_modules/.bin/bun

.PHONY: up down test bench es es-stop build install typecheck

install:
	scripts/install-deps.sh

up: install
	scripts/up.sh

down:
	@if [ -f data/run/up.pid ]; then kill -TERM "$$(cat data/run/up.pid)"; else echo "telemetry is not running"; fi

test:
	scripts/test.sh

bench: install
	scripts/install-deps.sh --bench
	$(BUN) scripts/bench.ts

es: install
	scripts/es.sh start
	@echo "Elasticsearch: $$(scripts/es.sh url)  (stop with: make es-stop)"

es-stop:
	scripts/es.sh stop

build: install
	$(BUN) build --compile --minify cli/main.ts --outfile dist/telemetry
	@echo "single executable: dist/telemetry"

typecheck: install
	node_modules/.bin/tsc --noEmit -p .
