package billing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/ent/usagedaily"
	"github.com/cloudbill/cloudbill/ent/usageevent"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// what a client sends is what is stored, byte for byte, whatever the
// characters: PostgreSQL receives a batch as array literals written by
// hand (pgArray), so quotes, backslashes, commas, braces, spaces, the word
// NULL and non-ASCII text must come back unchanged, and the rollups must
// add up to the events. A replay of the batch changes nothing.
func TestUsageColumnsRoundTrip(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		oct := calendar.Month{Year: 2026, Month: 10}
		orgs, err := dataset.Seed(ctx, db.Client, dataset.Options{Groups: 2, GroupsPerOrg: 2, Month: oct, Services: 1})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 5, 10, 0, 0, 0, calendar.NCPPolicy().Location())
		e := &billing.Engine{Client: db.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(at), Postgres: db.Dialect == "postgres"}
		o := orgs[0]
		precision := time.Nanosecond // SQLite keeps the instant as sent; PostgreSQL to the microsecond
		if db.Dialect == "postgres" {
			precision = time.Microsecond
		}
		tricky := []string{`quote"d`, `back\slash`, `\"both\\`, `comma,and{braces}`, `NULL`, ` spaced `, `ünïcødé 계정`, `'single'`, `x`}
		var in []usage.UsageInput
		want := map[string]usage.UsageInput{}
		for i, s := range tricky {
			ev := usage.UsageInput{EventID: s, BillingGroupID: o.Groups[i%2], ServiceCode: "ld-svc-00", Region: "ld-a",
				Channel: tricky[len(tricky)-1-i], Metric: "unit", Quantity: fmt.Sprintf("%d.25", i+1),
				OccurredAt: at.Add(-time.Duration(i)*time.Hour - 123456789*time.Nanosecond)}
			in = append(in, ev)
			want[s] = ev
		}
		res, err := e.Ingestion().RecordUsage(ctx, o.ID, in)
		if err != nil || res.Accepted != len(tricky) || res.Duplicates != 0 {
			t.Fatalf("first: %+v %v", res, err)
		}
		got, err := db.Client.UsageEvent.Query().Where(usageevent.OrgID(o.ID)).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tricky) {
			t.Fatalf("stored %d events, want %d", len(got), len(tricky))
		}
		ids := map[string]bool{}
		var sum int64
		for _, g := range got {
			w, ok := want[g.EventID]
			if !ok {
				t.Fatalf("stored event id %q was not sent", g.EventID)
			}
			if g.Channel != w.Channel || g.BillingGroupID != w.BillingGroupID || g.ServiceCode != w.ServiceCode || g.RegionCode != w.Region || g.Metric != w.Metric {
				t.Errorf("event %q stored as %+v", g.EventID, g)
			}
			if !g.OccurredAt.Equal(w.OccurredAt.Truncate(precision)) {
				t.Errorf("event %q occurred at %s, sent %s", g.EventID, g.OccurredAt, w.OccurredAt)
			}
			if ids[g.ID] || len(g.ID) != len("use_")+26 {
				t.Errorf("id %q repeated or malformed", g.ID)
			}
			ids[g.ID] = true
			sum += g.QuantityMicros
		}
		// 1.25 + 2.25 + … + 9.25 units.
		if want := int64(45_000_000 + 9*250_000); sum != want {
			t.Errorf("quantities add to %d micro-units, want %d", sum, want)
		}
		daily, err := db.Client.UsageDaily.Query().Where(usagedaily.BillingGroupIDIn(o.Groups...), usagedaily.DayGTE("2026-11-01")).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var rolled int64
		channels := map[string]bool{}
		for _, d := range daily {
			rolled += d.QuantityMicros
			channels[d.Channel] = true
		}
		if rolled != sum || len(channels) != len(tricky) {
			t.Errorf("rollups hold %d micro-units in %d channels, want %d in %d", rolled, len(channels), sum, len(tricky))
		}
		res, err = e.Ingestion().RecordUsage(ctx, o.ID, in)
		if err != nil || res.Accepted != 0 || res.Duplicates != len(tricky) {
			t.Fatalf("replay: %+v %v", res, err)
		}
	})
}
