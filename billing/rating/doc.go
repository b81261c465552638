// Package rating is pure pricing: it turns a month's usage sums, prices and
// contracts into invoice lines (R-11, R-12, R-39: exact decimals, each line
// rounded half up to the currency's minor unit), applies discounts,
// computes VAT and late fees rounded down, and allocates free credits to
// the lines day by day (R-22..R-24). It does no I/O: the engine reads the
// inputs and writes the results, so every rule here is unit-tested and
// fuzzed (fuzz_test.go).
package rating
