# The project's tasks. Each is one command a newcomer can also type by hand.
.PHONY: generate lint test test-postgres bench loadtest ci run

generate:            ## regenerate ent/ and graph/ (committed; CI checks it is current)
	go generate ./...

lint:                ## gofmt, go vet and golangci-lint (.golangci.yml)
	gofmt -l $$(git ls-files '*.go' | grep -v '^ent/' | grep -v '^graph/generated/' | grep -v '^graph/model/')
	go vet ./...
	go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0 run ./...

test:                ## the suite; starts a throwaway PostgreSQL when DATABASE_URL is unset
	go test ./...

test-postgres:       ## the suite, failing instead of skipping when PostgreSQL is missing
	CLOUDBILL_REQUIRE_POSTGRES=1 go test ./...

bench:               ## the benchmarks of the README's Performance section
	go test -run '^$$' -bench . ./billing
	go test -run '^$$' -bench MonthClose -benchtime 2000x ./server/loadtest/dataset
	go test -run '^$$' -bench Dashboard -benchtime 2000x ./server/loadtest/dataset
	go test -run '^$$' -bench RollupUpdate -benchtime 200x ./server/store

loadtest:            ## the load script (about 10 minutes on 2 cores)
	go run ./server/loadtest

ci:                  ## what CI runs
	bash .ci/run

run:                 ## the server on embedded SQLite with the demo organization
	go run ./server
