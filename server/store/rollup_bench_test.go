package store_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/cloudbill/cloudbill/server/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// BenchmarkRollupUpdate justifies usage_dailies' fillfactor (store.Migrate):
// recordUsage adds to the day's rollup rows all day, and with room left on
// each page PostgreSQL updates them beside the old version without touching
// the three indexes (a HOT update). One op is a batch of 1,000 rollups
// upserted onto a table of 200,000, as recordUsage does.
//
//	go test -run '^$' -bench RollupUpdate ./server/store
func BenchmarkRollupUpdate(b *testing.B) {
	for _, ff := range []int{100, 50} {
		b.Run(fmt.Sprintf("fillfactor=%d", ff), func(b *testing.B) {
			db := testenv.Postgres(b)
			defer db.Close()
			for _, q := range []string{
				fmt.Sprintf(`ALTER TABLE usage_dailies SET (fillfactor = %d)`, ff),
				`INSERT INTO usage_dailies (id, org_id, billing_group_id, day, service_code, region_code, channel, metric, quantity_micros)
				SELECT 'ud_' || g, 'org_' || (g % 1000), 'bg_' || (g % 10000), '2026-10-' || lpad((g / 10000 + 1)::text, 2, '0'), 'svc', 'r', '', 'unit', 1
				FROM generate_series(1, 200000) g`,
				`VACUUM ANALYZE usage_dailies`,
			} {
				if _, err := db.SQL.Exec(q); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if _, err := db.SQL.Exec(`INSERT INTO usage_dailies AS d (id, org_id, billing_group_id, day, service_code, region_code, channel, metric, quantity_micros)
					SELECT 'ud_x' || g, 'org_' || (g % 1000), 'bg_' || g, '2026-11-05', 'svc', 'r', '', 'unit', 1 FROM generate_series(1, 1000) g
					ON CONFLICT (billing_group_id, day, service_code, region_code, channel, metric)
					DO UPDATE SET quantity_micros = d.quantity_micros + excluded.quantity_micros`); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
