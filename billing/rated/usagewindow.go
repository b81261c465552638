package rated

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/usagedaily"
)

// A dashboard's billing group, when a request reads it from the database,
// brings the request's usage window too (viewUsage's one statement: the
// trend's six months through yesterday, summed by month), as a JSON array
// in the group's own statement. Usage is not part of the organization's
// revision, so the window only serves the request that read the row
// (Prime puts it in the request's memo); a group row taken from the view
// cache brings nothing, and the window is read apart as before.
const usageRows = "cloudbill_usage_window"

// UsageWindowAt is the window a request reading at now asks for.
type UsageWindowAt struct {
	from, cur calendar.Month
	through   int // days of cur
}

// WindowAt returns the usage window of a request reading at now.
func (s *Service) WindowAt(now time.Time) UsageWindowAt {
	now = now.In(s.Policy.Location())
	cur := calendar.Month{Year: now.Year(), Month: now.Month()}
	from := cur
	for i := 0; i < 5; i++ { // the trend's six months
		from = from.Prev()
	}
	return UsageWindowAt{from: from, cur: cur, through: now.Day() - 1}
}

// Select makes q read, with each billing group, its usage in the window as
// one JSON array of [month, service, region, channel, metric, micros].
func (w UsageWindowAt) Select(q *ent.BillingGroupQuery) *ent.BillingGroupQuery {
	q.Modify(func(s *sql.Selector) { // adds to q
		agg, arr := "json_group_array", "json_array"
		if s.Dialect() == dialect.Postgres {
			agg, arr = "json_agg", "json_build_array"
		}
		// The window's days are calendar dates ("2026-11-01"), safe to
		// write as literals; the sums are viewUsage's.
		s.AppendSelect(sql.As(fmt.Sprintf(`(SELECT %s(%s(w.month, w.service_code, w.region_code, w.channel, w.metric, w.micros)) FROM
			(SELECT substr(%[3]s.day, 1, 7) AS month, service_code, region_code, channel, metric, sum(quantity_micros) AS micros
			FROM %[3]s WHERE %[3]s.%[4]s = %[5]s AND %[3]s.day >= '%[6]s-01' AND %[3]s.day <= '%[7]s-%02[8]d'
			GROUP BY substr(%[3]s.day, 1, 7), service_code, region_code, channel, metric) AS w)`,
			agg, arr, usagedaily.Table, usagedaily.FieldBillingGroupID, s.C(billinggroup.FieldID), w.from, w.cur, w.through), usageRows))
	})
	return q
}

// Prime gives the request its window of bg as read with bg's row (nothing
// when bg was read without it, or the request has no memo).
func (w UsageWindowAt) Prime(ctx context.Context, bg *ent.BillingGroup) {
	memo, _ := ctx.Value(memoKey{}).(*requestMemo)
	v, err := bg.Value(usageRows)
	if memo == nil || err != nil {
		return
	}
	var text []byte
	switch x := v.(type) {
	case nil: // no usage in the window
	case string:
		text = []byte(x)
	case []byte:
		text = x
	default:
		return
	}
	uw := &usageWindow{from: w.from, cur: w.cur, through: w.through, months: map[calendar.Month][]rating.UsageRow{}}
	if text != nil {
		var raw [][6]json.RawMessage
		if json.Unmarshal(text, &raw) != nil {
			return
		}
		for _, r := range raw {
			var ms string
			var u rating.UsageRow
			if json.Unmarshal(r[0], &ms) != nil || json.Unmarshal(r[1], &u.ServiceCode) != nil || json.Unmarshal(r[2], &u.Region) != nil ||
				json.Unmarshal(r[3], &u.Channel) != nil || json.Unmarshal(r[4], &u.Metric) != nil || json.Unmarshal(r[5], &u.Micros) != nil {
				return // e.g. a sum past int64: read apart, which reports it
			}
			m, err := calendar.ParseMonth(ms)
			if err != nil {
				return
			}
			uw.months[m] = append(uw.months[m], u)
		}
	}
	memo.mu.Lock()
	if memo.days[bg.ID] == nil {
		memo.days[bg.ID] = uw
	}
	memo.mu.Unlock()
}
