package usage

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/domain"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/cloudbill/cloudbill/ent/usagedaily"
	"github.com/cloudbill/cloudbill/ent/usageevent"
	"github.com/cloudbill/cloudbill/ent/usagemonth"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"
)

// Service records usage. Recorded, when set, hears of each batch that added
// usage once it is committed (billing's budget alerts, R-70).
type Service struct {
	domain.Base
	Catalog  *catalog.Cache
	Recorded func(ctx context.Context, groups map[string]*ent.BillingGroup)
	// Gate bounds the batches recorded at once (gate.go); nil: no bound.
	Gate *Gate
}

// UsageInput is one usage event as a client sends it.
type UsageInput struct {
	EventID, BillingGroupID, ServiceCode, Region, Channel, Metric, Quantity string
	OccurredAt                                                              time.Time
}

// EventError says why one event of a batch was refused.
type EventError struct {
	Index   int
	EventID string
	Field   string
	Message string
}

// BatchError refuses a whole batch: nothing of it was written.
type BatchError struct{ Events []EventError }

func (e *BatchError) Error() string {
	if len(e.Events) == 0 {
		return "the batch was refused"
	}
	f := e.Events[0]
	return fmt.Sprintf("%d of the events are invalid; nothing was recorded (first: event %d %q: %s)",
		len(e.Events), f.Index, f.EventID, f.Message)
}

// UsageResult counts a recorded batch.
type UsageResult struct{ Accepted, Duplicates int }

// MaxUsageBatch bounds one recordUsage call.
const MaxUsageBatch = 5000

// quantityMicros reads a quantity written as plain digits with at most 6
// decimals and at most 10^11 ("12", "0.5", "1000.125000") as micro-units,
// without the decimal library's allocations (a batch has a thousand). ok is
// false for anything else, which ParseDecimal then judges: the two agree
// wherever this one answers (TestQuantityMicrosMatchesDecimal).
func quantityMicros(s string) (int64, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 13 || (dot && (frac == "" || len(frac) > 6)) {
		return 0, false
	}
	n, ok := digits(whole)
	if !ok || n > kernel.MaxEventMicros/1_000_000 {
		return 0, false
	}
	f, ok := digits(frac)
	if !ok {
		return 0, false
	}
	for i := len(frac); i < 6; i++ {
		f *= 10
	}
	micros := n*1_000_000 + f
	if micros > kernel.MaxEventMicros {
		return 0, false
	}
	return micros, true
}

// digits reads s, at most 13 ASCII digits (quantityMicros checks the
// lengths), as a number; ok is false for any other byte.
func digits(s string) (n int64, ok bool) {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// usageChunk keeps statements under both databases' parameter limits.
const usageChunk = 1000

// usageRow is an event of a batch that passed validation.
type usageRow struct {
	UsageInput
	index  int // in the batch
	org    string
	micros int64
	amount int64  // the event's amount ceiling in minor units (ceilingPrice)
	day    string // in the policy's zone, "2026-10-31"
	month  string
}

// eventKey names an event: its id is unique within its organization and
// the month of its instant — the same event sent again has the same
// instant, so the same month, and PostgreSQL's monthly partitions of
// usage_events can hold the unique index (server/store/partitions.go).
type eventKey struct{ org, month, id string }

func (r usageRow) key() eventKey { return eventKey{r.org, r.month, r.EventID} }

// sameContent tells whether two events of a batch are one event written
// twice: the same content, the quantity in micro-units ("2" = "2.000"), the
// instant to the microsecond whatever its offset — as sameEvent compares a
// stored one.
func sameContent(a, b usageRow) bool {
	return a.BillingGroupID == b.BillingGroupID && a.ServiceCode == b.ServiceCode && a.Region == b.Region &&
		a.Channel == b.Channel && a.Metric == b.Metric && a.micros == b.micros &&
		a.OccurredAt.Round(time.Microsecond).Equal(b.OccurredAt.Round(time.Microsecond))
}

// usageBatch is a validated batch, ready to be recorded.
type usageBatch struct {
	rows    []usageRow
	repeats int                // events sent twice within the batch, counted once
	pairs   map[[2]string]bool // the batch's (billing group, month) pairs
	now     time.Time
	groups  map[string]*ent.BillingGroup // the billing groups it names
}

// RecordUsage validates a batch and records it in one transaction: events
// whose id the organization already sent count as duplicates and change
// nothing; the daily rollups grow by exactly the new events. A batch
// with any invalid event is refused whole. orgID limits the billing groups
// to one tenant ("" for operators).
func (s *Service) RecordUsage(ctx context.Context, orgID string, in []UsageInput) (UsageResult, error) {
	b, err := s.validateUsage(ctx, orgID, in)
	if err != nil {
		return UsageResult{}, err
	}
	var res UsageResult
	err = s.Gate.run(ctx, func() error {
		return kernel.WithTx(ctx, s.Client, func(tx *ent.Tx) (err error) {
			res, err = s.recordBatch(ctx, tx, b)
			return err
		})
	})
	if err == nil && res.Accepted > 0 && s.Recorded != nil {
		s.Recorded(ctx, b.groups) // R-70's budgets, once the usage is committed
	}
	return res, err
}

// RecordUsageOnce is RecordUsage under an idempotency key: the same
// caller and key with the same batch answer the first result and record
// nothing again, with another batch they are refused
// (IDEMPOTENCY_KEY_REUSED), and concurrent repeats record once (the key's
// row is written in the batch's transaction: see Idempotent). A batch is
// the same when its events are, in order, after canonicalisation
// (batchFingerprint); a refused batch stores nothing under its key.
func (s *Service) RecordUsageOnce(ctx context.Context, orgID, caller, key string, in []UsageInput) (UsageResult, error) {
	b, err := s.validateUsage(ctx, orgID, in)
	if err != nil {
		return UsageResult{}, err
	}
	var res UsageResult
	var fresh bool
	err = s.Gate.run(ctx, func() (err error) {
		fresh, err = kernel.Idempotent(ctx, s.Client, orgID, caller, key, "recordUsage", batchFingerprint(in, s.Policy.Location()), &res,
			func(tx *ent.Tx) (any, error) { return s.recordBatch(ctx, tx, b) })
		return err
	})
	if err == nil && fresh && res.Accepted > 0 && s.Recorded != nil {
		s.Recorded(ctx, b.groups) // R-70's budgets, once the usage is committed
	}
	return res, err
}

// batchFingerprint is a hash of a valid batch in canonical form: each event
// in order, its quantity in micro-units ("1.5" = "1.500000") and its
// instant in UTC to the microsecond (what both databases keep).
func batchFingerprint(in []UsageInput, loc *time.Location) string {
	h := sha256.New()
	var buf []byte
	for _, ev := range in {
		micros, _ := parseQuantity(ev.Quantity) // valid: validateUsage passed
		buf = buf[:0]
		for _, f := range []string{ev.EventID, ev.BillingGroupID, ev.ServiceCode, ev.Region, ev.Channel, ev.Metric} {
			buf = append(append(buf, f...), 0)
		}
		buf = strconv.AppendInt(buf, micros, 10)
		buf = append(buf, 0)
		buf = ev.OccurredAt.Round(time.Microsecond).UTC().AppendFormat(buf, time.RFC3339Nano)
		h.Write(append(buf, '\n'))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// usageChecker validates the events of one batch against the catalog and
// the batch's billing groups.
type usageChecker struct {
	cat    *catalog.Catalog
	prices rating.Prices
	groups map[string]*ent.BillingGroup
	first  map[string]string // each group's first invoiced month (FirstMonth)
	loc    *time.Location
	now    time.Time
	// ceilings holds the prices of the batch's metrics for amount
	// ceilings, by service, region, metric and currency.
	ceilings map[[4]string]kernel.CeilingPrice
}

// validateUsage checks every event of a batch and refuses the batch with
// one error per invalid event. An event repeated within the batch counts
// once, as across batches: the same organization's id with the same
// content however written (sameContent); with other content it is refused.
// Ids are the organization's own: one id in two organizations (an
// operator's batch) is two events.
func (s *Service) validateUsage(ctx context.Context, orgID string, in []UsageInput) (*usageBatch, error) {
	if len(in) == 0 || len(in) > MaxUsageBatch {
		return nil, kernel.FieldError("events", "send 1 to %d events at once", MaxUsageBatch)
	}
	cat, err := s.Catalog.Get(ctx, s.Client)
	if err != nil {
		return nil, err
	}
	groups, err := s.groupsOf(ctx, orgID, in)
	if err != nil {
		return nil, err
	}
	c := usageChecker{cat: cat, prices: rating.NewPrices(cat.Prices), groups: groups, first: make(map[string]string, len(groups)),
		loc: s.Policy.Location(), now: s.Clock.Now(), ceilings: map[[4]string]kernel.CeilingPrice{}}
	for id, g := range groups {
		c.first[id] = calendar.MonthOf(g.CreatedAt, s.Policy.Location()).String()
	}
	b := &usageBatch{rows: make([]usageRow, 0, len(in)), pairs: map[[2]string]bool{}, now: c.now, groups: groups}
	var bad []EventError
	seen := make(map[eventKey]int, len(in)) // a position in b.rows
	for i, ev := range in {
		r, fail := c.check(i, ev)
		if fail == nil {
			if j, dup := seen[r.key()]; dup {
				if !sameContent(b.rows[j], r) {
					fail = eventError(i, ev, "eventId", "eventId repeats event %d of this batch with other content", b.rows[j].index)
				} else {
					b.repeats++ // the same event twice in one batch counts once
					continue
				}
			}
		}
		if fail != nil {
			bad = append(bad, *fail)
			continue
		}
		seen[r.key()] = len(b.rows)
		b.rows = append(b.rows, r)
		b.pairs[[2]string{r.BillingGroupID, r.month}] = true
	}
	if len(bad) > 0 {
		return nil, &BatchError{Events: bad}
	}
	return b, nil
}

func eventError(i int, ev UsageInput, field, format string, args ...any) *EventError {
	return &EventError{Index: i, EventID: kernel.Clip(ev.EventID), Field: field, Message: fmt.Sprintf(format, args...)}
}

// check validates event i on its own.
func (c *usageChecker) check(i int, ev UsageInput) (usageRow, *EventError) {
	bg, ok := c.groups[ev.BillingGroupID]
	switch {
	case ev.EventID == "" || len(ev.EventID) > 200:
		return usageRow{}, eventError(i, ev, "eventId", "eventId must be 1 to 200 characters")
	case !ok:
		return usageRow{}, eventError(i, ev, "billingGroupId", "unknown billing group")
	case c.cat.Services[ev.ServiceCode].Code == "":
		return usageRow{}, eventError(i, ev, "serviceCode", "unknown service %q", kernel.Clip(ev.ServiceCode))
	case !c.cat.Regions[ev.Region]:
		return usageRow{}, eventError(i, ev, "region", "unknown region %q", kernel.Clip(ev.Region))
	case len(ev.Channel) > 100:
		return usageRow{}, eventError(i, ev, "channel", "channel is at most 100 characters")
	}
	p, ok := c.prices.Find(ev.ServiceCode, ev.Region, ev.Metric)
	if !ok || p.Model != "PER_UNIT" {
		return usageRow{}, eventError(i, ev, "metric", "service %q has no per-unit price for metric %q in %s",
			ev.ServiceCode, kernel.Clip(ev.Metric), ev.Region)
	}
	micros, amount, fail := c.measure(i, ev, bg, p)
	if fail != nil {
		return usageRow{}, fail
	}
	if ev.OccurredAt.After(c.now.Add(5 * time.Minute)) {
		return usageRow{}, eventError(i, ev, "occurredAt", "occurredAt is in the future")
	}
	day := ev.OccurredAt.In(c.loc).Format("2006-01-02")
	if first := c.first[bg.ID]; day[:7] < first { // "YYYY-MM" compare as months
		return usageRow{}, eventError(i, ev, "occurredAt", "the billing group was created in %s: usage of %s "+
			"would never be invoiced (its invoices start with %s)", first, day[:7], first)
	}
	return usageRow{UsageInput: ev, index: i, org: bg.OrgID, micros: micros, amount: amount, day: day, month: day[:7]}, nil
}

// measure reads event i's quantity in micro-units and its amount ceiling
// in minor units at price p, within their bounds (bounds.go).
func (c *usageChecker) measure(i int, ev UsageInput, bg *ent.BillingGroup, p rating.PriceRow) (micros, amount int64, fail *EventError) {
	micros, ok := parseQuantity(ev.Quantity)
	if !ok {
		return 0, 0, eventError(i, ev, "quantity", "quantity must be a decimal from 0 to 10^11 with at most 6 decimal places")
	}
	channel := ev.Channel != "" && c.cat.Services[ev.ServiceCode].Kind == "CHANNEL"
	amount, ok = c.ceiling(bg.Currency, ev.Region, p).Amount(micros, channel)
	if !ok {
		return 0, 0, eventError(i, ev, "quantity", "this event alone would rate to more than a billing group's "+
			"usage of a month may (%s %s)", kernel.FormatMinor(kernel.MaxMonthUsageAmount, bg.Currency), bg.Currency)
	}
	return micros, amount, nil
}

// ceiling is the price p of a metric in region ready for amount ceilings
// in currency, with a channel product's base fees there; computed once per
// batch.
func (c *usageChecker) ceiling(currency, region string, p rating.PriceRow) kernel.CeilingPrice {
	k := [4]string{p.ServiceCode, region, p.Metric, currency}
	cp, ok := c.ceilings[k]
	if !ok {
		var fees decimal.Decimal
		if c.cat.Services[p.ServiceCode].Kind == "CHANNEL" {
			for _, f := range rating.FlatPrices(c.cat.Prices, c.prices, p.ServiceCode, region) {
				fees = fees.Add(f.UnitPrice)
			}
		}
		cp = kernel.NewCeilingPrice(p.UnitPrice, kernel.CurrencyDigits[currency], fees)
		c.ceilings[k] = cp
	}
	return cp
}

// parseQuantity reads a quantity in micro-units: plain digits the fast way
// (quantityMicros), anything else by the exact decimal path.
func parseQuantity(s string) (int64, bool) {
	if micros, ok := quantityMicros(s); ok {
		return micros, true
	}
	q, err := kernel.ParseDecimal(s)
	if err != nil || q.IsNegative() || q.GreaterThan(kernel.MaxQuantity) || q.Exponent() < -6 {
		return 0, false
	}
	return q.Shift(6).IntPart(), true
}

// recordBatch records a validated batch in tx. Usage of a month whose
// invoice is issued is closed (R-51: the invoice never changes); late usage
// must not vanish silently. The invoices are looked for inside this
// transaction, after waiting for any issuing of the batch's months in
// progress (issueOne's advisory lock, taken for months that are ending or
// over; on SQLite this transaction holds the only write lock), so that no
// usage lands in a month after its invoice read it. PostgreSQL looks in the
// same statement that records the events (RecordEventsSQL).
func (s *Service) recordBatch(ctx context.Context, tx *ent.Tx, b *usageBatch) (UsageResult, error) {
	closed, err := s.closedMonths(ctx, tx, b.pairs, b.now)
	if err != nil {
		return UsageResult{}, err
	}
	if len(closed) > 0 {
		return UsageResult{}, lateUsage(b.rows, closed)
	}
	res := UsageResult{Duplicates: b.repeats}
	for start := 0; start < len(b.rows); start += usageChunk {
		chunk := b.rows[start:min(start+usageChunk, len(b.rows))]
		record := s.recordChunkSQLite
		if s.Postgres {
			record = s.recordChunkPostgres
		}
		accepted, err := record(ctx, tx, b, chunk)
		if err != nil {
			return UsageResult{}, err
		}
		res.Accepted += accepted
		res.Duplicates += len(chunk) - accepted
	}
	if res.Accepted == 0 {
		return res, nil
	}
	return res, bumpUsageRevision(ctx, tx, s.Postgres, b.rows)
}

// lateUsage refuses the events of rows whose (billing group, month) is
// closed.
func lateUsage(rows []usageRow, closed map[[2]string]bool) *BatchError {
	var late []EventError
	for _, r := range rows {
		if closed[[2]string{r.BillingGroupID, r.month}] {
			late = append(late, *eventError(r.index, r.UsageInput, "occurredAt",
				"the month %s is already invoiced for this billing group", r.month))
		}
	}
	return &BatchError{Events: late}
}

// bumpUsageRevision moves the usage revision of the organizations whose
// usage changed: their usage views are stale now (billing/readmodel/orgcache.go).
// Last in the transaction, so the rows are locked only until the commit
// that follows. On PostgreSQL the rows are locked in id order
// (cloudbill_bump_usage, server/store/revision.go, reads them through the
// primary key): a plain UPDATE … WHERE id IN (…) may lock them in the order
// it scans the table, which moves as rows are updated, and two batches
// naming the same organizations then deadlock
// (TestHotRollupBatchesNeverDeadlock).
func bumpUsageRevision(ctx context.Context, tx *ent.Tx, postgres bool, rows []usageRow) error {
	set := map[string]bool{}
	for _, r := range rows {
		set[r.org] = true
	}
	orgs := slices.Collect(maps.Keys(set)) // in no order: the primary key orders the locks
	if postgres {
		_, err := tx.ExecContext(ctx, `SELECT cloudbill_bump_usage($1)`, pq.StringArray(orgs))
		return err
	}
	return tx.Organization.Update().Where(organization.IDIn(orgs...)).AddUsageRevision(1).Exec(ctx)
}

// recordChunkPostgres records a chunk of events and their rollups in one
// statement (RecordEventsSQL), one array literal per column in its order,
// and returns how many events were new.
func (s *Service) recordChunkPostgres(ctx context.Context, tx *ent.Tx, b *usageBatch, chunk []usageRow) (int, error) {
	n := len(chunk)
	ids, orgs, events, groups := kernel.NewPGArray(n, 30), kernel.NewPGArray(n, 30), kernel.NewPGArray(n, 24), kernel.NewPGArray(n, 30)
	services, regions, channels, metrics := kernel.NewPGArray(n, 16), kernel.NewPGArray(n, 8), kernel.NewPGArray(n, 0), kernel.NewPGArray(n, 8)
	micros, ats, days, amounts := kernel.NewPGArray(n, 10), kernel.NewPGArray(n, 30), kernel.NewPGArray(n, 10), kernel.NewPGArray(n, 6)
	xid.AppendNew("use", n, ids.Bytes)
	for _, r := range chunk {
		orgs.Text(r.org)
		events.Text(r.EventID)
		groups.Text(r.BillingGroupID)
		services.Text(r.ServiceCode)
		regions.Text(r.Region)
		channels.Text(r.Channel)
		metrics.Text(r.Metric)
		micros.Int64(r.micros)
		ats.Time(r.OccurredAt)
		days.Text(r.day)
		amounts.Int64(r.amount)
	}
	pairGroups, pairMonths := make([]string, 0, len(b.pairs)), make([]string, 0, len(b.pairs))
	for p := range b.pairs {
		pairGroups, pairMonths = append(pairGroups, p[0]), append(pairMonths, p[1])
	}
	args := []any{ids.String(), orgs.String(), events.String(), groups.String(), services.String(),
		regions.String(), channels.String(), metrics.String(), micros.String(), ats.String(), days.String(), b.now,
		pq.StringArray(pairGroups), pq.StringArray(pairMonths), amounts.String(), kernel.MaxDailyMicros, kernel.MaxMonthUsageAmount}
	var accepted int
	var invoiced, conflicting pq.StringArray
	var dayOver, monthOver pq.Int64Array
	rs, err := tx.QueryContext(ctx, RecordEventsSQL, args...)
	if err != nil {
		return 0, err
	}
	for rs.Next() {
		if err := rs.Scan(&accepted, &invoiced, &conflicting, &dayOver, &monthOver); err != nil {
			rs.Close()
			return 0, err
		}
	}
	if err := cmp.Or(rs.Err(), rs.Close()); err != nil {
		return 0, err
	}
	if len(invoiced) > 0 { // nothing was written
		closed := map[[2]string]bool{}
		for _, gm := range invoiced {
			g, m, _ := strings.Cut(gm, " ")
			closed[[2]string{g, m}] = true
		}
		return 0, lateUsage(b.rows, closed)
	}
	// Otherwise the transaction rolls back what was written.
	refused := refusals{conflicting: map[eventKey]bool{}, dayOver: map[int]bool{}, monthOver: map[int]bool{}}
	for _, oe := range conflicting { // "org_id month event_id": an org id and a month have no space
		org, rest, _ := strings.Cut(oe, " ")
		month, id, _ := strings.Cut(rest, " ")
		refused.conflicting[eventKey{org, month, id}] = true
	}
	for _, p := range dayOver { // positions in the chunk, from 1
		refused.dayOver[int(p)-1] = true
	}
	for _, p := range monthOver {
		refused.monthOver[int(p)-1] = true
	}
	return accepted, refused.check(chunk)
}

// recordChunkSQLite inserts a chunk's events, skipping the ids the
// organization already sent, and adds exactly the inserted ones to their
// daily rollups; it returns how many events were new.
func (s *Service) recordChunkSQLite(ctx context.Context, tx *ent.Tx, b *usageBatch, chunk []usageRow) (int, error) {
	inserted, err := s.insertEventsSQLite(ctx, tx, b.now, chunk)
	if err != nil {
		return 0, err
	}
	if err := conflictsSQLite(ctx, tx, chunk, inserted); err != nil {
		return 0, err
	}
	days, months := map[rollupKey]int64{}, map[monthKey]int64{}
	accepted := 0
	for _, r := range chunk {
		if inserted[r.key()] {
			accepted++
			days[rollupKeyOf(r)] = addUpTo(days[rollupKeyOf(r)], r.micros, kernel.MaxDailyMicros)
			months[monthKeyOf(r)] = addUpTo(months[monthKeyOf(r)], r.amount, kernel.MaxMonthUsageAmount)
		}
	}
	if err := checkBoundsSQLite(ctx, tx, chunk, inserted, days, months); err != nil {
		return 0, err
	}
	if err := addRollupsSQLite(ctx, tx, days); err != nil {
		return 0, err
	}
	return accepted, addMonthsSQLite(ctx, tx, months)
}

// addUpTo adds v (0 ≤ v ≤ bound) to sum, stopping at one past bound: the
// result tells whether the bound was crossed, and never overflows.
func addUpTo(sum, v, bound int64) int64 {
	if sum > bound-v {
		return bound + 1
	}
	return sum + v
}

// monthKey is a billing group's month in usage_months.
type monthKey struct{ org, bg, month string }

func monthKeyOf(r usageRow) monthKey { return monthKey{r.org, r.BillingGroupID, r.month} }

// checkBoundsSQLite refuses the chunk's new events that would take their
// daily rollup or their group's month past its bound (bounds.go), reading
// the rollups and months as they stand (the one writer is this
// transaction).
func checkBoundsSQLite(ctx context.Context, tx *ent.Tx, chunk []usageRow, inserted map[eventKey]bool, days map[rollupKey]int64, months map[monthKey]int64) error {
	groups, dayList, monthList := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for k := range days {
		groups[k.bg], dayList[k.day], monthList[k.day[:7]] = true, true, true
	}
	if len(groups) == 0 {
		return nil
	}
	bgs := slices.Collect(maps.Keys(groups))
	rollups, err := tx.UsageDaily.Query().Where(usagedaily.BillingGroupIDIn(bgs...),
		usagedaily.DayIn(slices.Collect(maps.Keys(dayList))...)).All(ctx)
	if err != nil {
		return err
	}
	stored := map[rollupKey]int64{}
	for _, u := range rollups {
		stored[rollupKey{u.OrgID, u.BillingGroupID, u.Day, u.ServiceCode, u.RegionCode, u.Channel, u.Metric}] = u.QuantityMicros
	}
	ums, err := tx.UsageMonth.Query().Where(usagemonth.BillingGroupIDIn(bgs...),
		usagemonth.MonthIn(slices.Collect(maps.Keys(monthList))...)).All(ctx)
	if err != nil {
		return err
	}
	storedMonths := map[monthKey]int64{}
	for _, u := range ums {
		storedMonths[monthKey{u.OrgID, u.BillingGroupID, u.Month}] = u.Amount
	}
	refused := refusals{dayOver: map[int]bool{}, monthOver: map[int]bool{}}
	for i, r := range chunk {
		if !inserted[r.key()] {
			continue
		}
		k, m := rollupKeyOf(r), monthKeyOf(r)
		refused.dayOver[i] = days[k] > kernel.MaxDailyMicros || stored[k] > kernel.MaxDailyMicros-days[k]
		refused.monthOver[i] = months[m] > kernel.MaxMonthUsageAmount || storedMonths[m] > kernel.MaxMonthUsageAmount-months[m]
	}
	return refused.check(chunk)
}

// addMonthsSQLite adds the chunk's amount ceilings to their groups' months.
func addMonthsSQLite(ctx context.Context, tx *ent.Tx, months map[monthKey]int64) error {
	if len(months) == 0 {
		return nil
	}
	keys := slices.SortedFunc(maps.Keys(months), func(a, b monthKey) int {
		return cmp.Or(cmp.Compare(a.bg, b.bg), cmp.Compare(a.month, b.month))
	})
	bulk := make([]*ent.UsageMonthCreate, len(keys))
	for i, k := range keys {
		bulk[i] = tx.UsageMonth.Create().SetID(xid.New("um")).SetOrgID(k.org).SetBillingGroupID(k.bg).
			SetMonth(k.month).SetAmount(months[k])
	}
	return tx.UsageMonth.CreateBulk(bulk...).OnConflict(
		sql.ConflictColumns(usagemonth.FieldBillingGroupID, usagemonth.FieldMonth),
		sql.ResolveWith(func(u *sql.UpdateSet) {
			u.Set(usagemonth.FieldAmount, sql.Expr(u.Table().C(usagemonth.FieldAmount)+" + excluded."+usagemonth.FieldAmount))
		}),
	).Exec(ctx)
}

// insertEventsSQLite inserts a chunk's events and returns those that were
// new (by organization and event id: one id may be two organizations').
func (s *Service) insertEventsSQLite(ctx context.Context, tx *ent.Tx, now time.Time, chunk []usageRow) (map[eventKey]bool, error) {
	ins := sql.Dialect(kernel.Dialect(s.Postgres)).Insert(usageevent.Table).Columns(
		usageevent.FieldID, usageevent.FieldOrgID, usageevent.FieldCreatedAt, usageevent.FieldEventID,
		usageevent.FieldBillingGroupID, usageevent.FieldServiceCode, usageevent.FieldRegionCode,
		usageevent.FieldChannel, usageevent.FieldMetric, usageevent.FieldQuantityMicros, usageevent.FieldOccurredAt,
		usageevent.FieldMonth)
	for _, r := range chunk {
		ins.Values(xid.New("use"), r.org, now, r.EventID, r.BillingGroupID, r.ServiceCode, r.Region,
			r.Channel, r.Metric, r.micros, r.OccurredAt, r.month)
	}
	ins.OnConflict(sql.ConflictColumns(usageevent.FieldOrgID, usageevent.FieldEventID, usageevent.FieldMonth), sql.DoNothing()).
		Returning(usageevent.FieldOrgID, usageevent.FieldEventID, usageevent.FieldMonth)
	query, args := ins.Query()
	rs, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	inserted := map[eventKey]bool{}
	for rs.Next() {
		var k eventKey
		if err := rs.Scan(&k.org, &k.id, &k.month); err != nil {
			rs.Close()
			return nil, err
		}
		inserted[k] = true
	}
	return inserted, rs.Close()
}

// conflictsSQLite refuses the events of chunk that were not inserted
// because their id was recorded before with other content (R-13: an exact
// repeat is a duplicate, a different event under a used id an error).
// SQLite's one writer leaves no concurrent insert to miss.
func conflictsSQLite(ctx context.Context, tx *ent.Tx, chunk []usageRow, inserted map[eventKey]bool) error {
	var ids []string
	for _, r := range chunk {
		if !inserted[r.key()] {
			ids = append(ids, r.EventID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	orgs := map[string]bool{}
	for _, r := range chunk {
		orgs[r.org] = true
	}
	stored, err := tx.UsageEvent.Query().Where(usageevent.OrgIDIn(slices.Collect(maps.Keys(orgs))...), usageevent.EventIDIn(ids...)).All(ctx)
	if err != nil {
		return err
	}
	byKey := make(map[eventKey]*ent.UsageEvent, len(stored))
	for _, s := range stored { // the same id of another month is another event
		byKey[eventKey{s.OrgID, s.Month, s.EventID}] = s
	}
	conflicting := map[eventKey]bool{}
	for _, r := range chunk {
		if s := byKey[r.key()]; !inserted[r.key()] && s != nil && !sameEvent(s, r) {
			conflicting[r.key()] = true
		}
	}
	return refusals{conflicting: conflicting}.check(chunk)
}

// sameEvent tells whether a stored event has r's content; instants compare
// to the microsecond, as PostgreSQL keeps them.
func sameEvent(s *ent.UsageEvent, r usageRow) bool {
	return s.BillingGroupID == r.BillingGroupID && s.ServiceCode == r.ServiceCode && s.RegionCode == r.Region &&
		s.Channel == r.Channel && s.Metric == r.Metric && s.QuantityMicros == r.micros &&
		s.OccurredAt.Round(time.Microsecond).Equal(r.OccurredAt.Round(time.Microsecond))
}

// refusals are the events of a chunk refused once written: ids recorded
// before with other content, and positions of events that would take
// their daily rollup or their billing group's month past its bound
// (bounds.go).
type refusals struct {
	conflicting        map[eventKey]bool
	dayOver, monthOver map[int]bool
}

// check refuses the chunk with one error per refused event, if any.
func (f refusals) check(chunk []usageRow) error {
	var bad []EventError
	for i, r := range chunk {
		switch {
		case f.conflicting[r.key()]:
			bad = append(bad, *eventError(r.index, r.UsageInput, "eventId",
				"event %q was recorded before with other content; an event id counts once (R-13)", kernel.Clip(r.EventID)))
		case f.dayOver[i]:
			bad = append(bad, *eventError(r.index, r.UsageInput, "quantity",
				"the %s usage of %s in %s on %s (channel %q) would exceed 10^11 units in a day for this billing group",
				kernel.Clip(r.Metric), r.ServiceCode, r.Region, r.day, kernel.Clip(r.Channel)))
		case f.monthOver[i]:
			bad = append(bad, *eventError(r.index, r.UsageInput, "quantity",
				"the usage of this billing group in %s would rate to more than a month's usage may (10^16 minor units)", r.month))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &BatchError{Events: bad}
}

// rollupKey is what a daily rollup row adds up.
type rollupKey struct{ org, bg, day, svc, region, channel, metric string }

func rollupKeyOf(r usageRow) rollupKey {
	return rollupKey{r.org, r.BillingGroupID, r.day, r.ServiceCode, r.Region, r.Channel, r.Metric}
}

// addRollupsSQLite adds sums to their daily rollups, creating the missing
// ones.
func addRollupsSQLite(ctx context.Context, tx *ent.Tx, sums map[rollupKey]int64) error {
	if len(sums) == 0 {
		return nil
	}
	keys := make([]rollupKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	// A fixed order keeps concurrent batches from deadlocking.
	slices.SortFunc(keys, func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.bg, b.bg), cmp.Compare(a.day, b.day), cmp.Compare(a.svc, b.svc),
			cmp.Compare(a.region, b.region), cmp.Compare(a.channel, b.channel), cmp.Compare(a.metric, b.metric))
	})
	bulk := make([]*ent.UsageDailyCreate, len(keys))
	for i, k := range keys {
		bulk[i] = tx.UsageDaily.Create().SetID(xid.New("ud")).SetOrgID(k.org).SetBillingGroupID(k.bg).
			SetDay(k.day).SetServiceCode(k.svc).SetRegionCode(k.region).SetChannel(k.channel).
			SetMetric(k.metric).SetQuantityMicros(sums[k])
	}
	return tx.UsageDaily.CreateBulk(bulk...).OnConflict(
		sql.ConflictColumns(usagedaily.FieldBillingGroupID, usagedaily.FieldDay, usagedaily.FieldServiceCode,
			usagedaily.FieldRegionCode, usagedaily.FieldChannel, usagedaily.FieldMetric),
		sql.ResolveWith(func(u *sql.UpdateSet) {
			u.Set(usagedaily.FieldQuantityMicros, sql.Expr(
				u.Table().C(usagedaily.FieldQuantityMicros)+" + excluded."+usagedaily.FieldQuantityMicros))
		}),
	).Exec(ctx)
}

// RecordEventsSQL records a chunk of events and rolls up exactly the ones
// it inserted, in one PostgreSQL statement: one array per column instead of
// a parameter per value (eleven thousand parameters were slow to send, bind
// and plan), the events' unique (org_id, event_id) index deciding what is
// new, and the rollups upserted in a fixed order so that concurrent batches
// cannot deadlock. A rollup row created here takes the ULID of its first
// event (ud_…), unique because each event belongs to one rollup. Nothing
// is written when a month of the batch ($13, $14: its groups and months)
// is invoiced; those come back instead, each pair probing the invoices'
// (billing group, month) index once (LATERAL … LIMIT 1: joined as a set,
// a batch of 1,000 groups was hashed against a scan of every invoice, 6.7
// of the 40 ms of a hot-key batch at 20,000 invoices and growing with
// them). The batch's own sorting, joining
// and grouping compare bytes (COLLATE "C"): a locale's collation is several
// times slower and orders nothing here that a reader sees.
//
// An event id recorded before is a duplicate when its content is the same
// and a conflict otherwise. The insert's DO UPDATE, a no-op that
// applies only to a stored row whose content differs, returns exactly the
// conflicting rows besides the inserted ones: unlike a read of the table,
// it sees a row another transaction committed after this statement began.
// Exact repeats are only locked.
//
// The bounds of bounds.go hold in the same statement: a rollup is added to
// only while it stays within $16 (its batch's sum, numeric, is compared
// before it is cast), and the billing group's month in usage_months only
// while the events' amount ceilings ($15) keep it within $17 — the upserts'
// WHERE compare the latest committed rows, and subtract rather than add so
// that nothing can overflow. The months are upserted after the rollups
// (one order of locks for every batch). What a bound refused is a rollup or
// month missing from the upserts' RETURNING.
//
// The last three columns name what the caller must refuse (conflicting
// events, as "org_id month event_id"; the positions, from 1, of events over a daily or a monthly
// bound); they are computed only when there is something to name, and the
// caller then rolls the transaction back.
const RecordEventsSQL = `WITH input AS (
	SELECT n, id COLLATE "C" AS id, org_id COLLATE "C" AS org_id, event_id, billing_group_id COLLATE "C" AS billing_group_id,
		service_code COLLATE "C" AS service_code, region_code COLLATE "C" AS region_code, channel COLLATE "C" AS channel,
		metric COLLATE "C" AS metric, quantity_micros, occurred_at, day COLLATE "C" AS day, amount
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::bigint[], $10::timestamptz[], $11::text[], $15::bigint[]) WITH ORDINALITY
		AS u(id, org_id, event_id, billing_group_id, service_code, region_code, channel, metric, quantity_micros, occurred_at, day,
			amount, n)
), invoiced AS (
	SELECT p.g || ' ' || p.m AS pair FROM unnest($13::text[], $14::text[]) AS p(g, m)
	CROSS JOIN LATERAL (SELECT 1 FROM invoices i WHERE i.billing_group_id = p.g AND i.month = p.m AND i.status <> 'VOID' LIMIT 1) AS live
), ins AS (
	INSERT INTO usage_events AS e (id, org_id, event_id, billing_group_id, service_code, region_code, channel, metric,
		quantity_micros, occurred_at, created_at, month)
	SELECT id, org_id, event_id, billing_group_id, service_code, region_code, channel, metric, quantity_micros, occurred_at,
		$12::timestamptz, left(day, 7) FROM input WHERE NOT EXISTS (SELECT 1 FROM invoiced)
	ON CONFLICT (org_id, event_id, month) DO UPDATE SET created_at = e.created_at
	WHERE (e.billing_group_id, e.service_code, e.region_code, e.channel, e.metric, e.quantity_micros, e.occurred_at)
		IS DISTINCT FROM (excluded.billing_group_id, excluded.service_code, excluded.region_code, excluded.channel,
		excluded.metric, excluded.quantity_micros, excluded.occurred_at)
	RETURNING id, org_id, event_id, month
), sums AS (
	SELECT 'ud_' || substr(min(i.id), 5) AS id, i.org_id, i.billing_group_id, i.day, i.service_code, i.region_code, i.channel,
		i.metric, sum(i.quantity_micros) AS quantity_micros, sum(i.amount) AS amount, count(*) AS events
	FROM input i JOIN ins ON ins.id = i.id
	GROUP BY i.org_id, i.billing_group_id, i.day, i.service_code, i.region_code, i.channel, i.metric
), up AS (
	INSERT INTO usage_dailies (id, org_id, billing_group_id, day, service_code, region_code, channel, metric, quantity_micros)
	SELECT id, org_id, billing_group_id, day, service_code, region_code, channel, metric, quantity_micros::bigint FROM sums
	WHERE quantity_micros <= $16::bigint
	ORDER BY billing_group_id, day, service_code, region_code, channel, metric
	ON CONFLICT (billing_group_id, day, service_code, region_code, channel, metric)
	DO UPDATE SET quantity_micros = usage_dailies.quantity_micros + excluded.quantity_micros
	WHERE usage_dailies.quantity_micros <= $16::bigint - excluded.quantity_micros
	RETURNING billing_group_id, day, service_code, region_code, channel, metric
), months AS (
	SELECT 'um_' || substr(min(id), 4) AS id, org_id, billing_group_id, left(day, 7) AS month, sum(amount) AS amount
	FROM sums GROUP BY org_id, billing_group_id, left(day, 7)
), mup AS (
	INSERT INTO usage_months (id, org_id, billing_group_id, month, amount)
	SELECT id, org_id, billing_group_id, month, amount::bigint FROM months
	WHERE amount <= $17::bigint AND (SELECT count(*) FROM up) >= 0
	ORDER BY billing_group_id, month
	ON CONFLICT (billing_group_id, month) DO UPDATE SET amount = usage_months.amount + excluded.amount
	WHERE usage_months.amount <= $17::bigint - excluded.amount
	RETURNING billing_group_id, month
), counts AS (
	SELECT (SELECT count(*) FROM ins) AS returned, (SELECT coalesce(sum(events), 0) FROM sums) AS accepted,
		(SELECT count(*) FROM sums) > (SELECT count(*) FROM up) AS day_over,
		(SELECT count(*) FROM months) > (SELECT count(*) FROM mup) AS month_over
)
SELECT accepted, ARRAY(SELECT pair FROM invoiced),
	CASE WHEN returned > accepted THEN ARRAY(SELECT org_id || ' ' || month || ' ' || event_id FROM ins WHERE id NOT IN (SELECT id FROM input)) END,
	CASE WHEN day_over THEN ARRAY(SELECT i.n FROM input i JOIN ins ON ins.id = i.id WHERE NOT EXISTS (SELECT 1 FROM up u
		WHERE u.billing_group_id = i.billing_group_id AND u.day = i.day AND u.service_code = i.service_code
		AND u.region_code = i.region_code AND u.channel = i.channel AND u.metric = i.metric)) END,
	CASE WHEN month_over THEN ARRAY(SELECT i.n FROM input i JOIN ins ON ins.id = i.id WHERE NOT EXISTS (SELECT 1 FROM mup m
		WHERE m.billing_group_id = i.billing_group_id AND m.month = left(i.day, 7))) END
FROM counts`

// groupsOf reads the batch's billing groups, limited to one organization
// unless orgID is "" (an operator).
func (s *Service) groupsOf(ctx context.Context, orgID string, in []UsageInput) (map[string]*ent.BillingGroup, error) {
	set := map[string]bool{}
	for _, ev := range in {
		if len(ev.BillingGroupID) <= 40 {
			set[ev.BillingGroupID] = true
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	q := s.Client.BillingGroup.Query().Where(billinggroup.IDIn(ids...))
	if orgID != "" {
		q = q.Where(billinggroup.OrgID(orgID))
	}
	list, err := q.All(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*ent.BillingGroup, len(list))
	for _, g := range list {
		out[g.ID] = g
	}
	return out, nil
}

// closedMonths waits for any issuing in progress of the batch's months
// and, on SQLite, returns which of them are invoiced (PostgreSQL checks in
// RecordEventsSQL, whose snapshot follows the wait). Only a month ending
// within the hour or over can be being issued (issuing starts after a month
// ends; the hour covers replicas' clocks apart): on PostgreSQL the shared
// side of each such pair's issuing lock is taken (issueOne takes the
// exclusive side, and skips a group it cannot lock).
func (s *Service) closedMonths(ctx context.Context, tx *ent.Tx, pairs map[[2]string]bool, now time.Time) (map[[2]string]bool, error) {
	if s.Postgres {
		var keys []string
		for p := range pairs {
			m, err := calendar.ParseMonth(p[1])
			if err != nil {
				return nil, err
			}
			if !now.Before(m.End(s.Policy.Location()).Add(-time.Hour)) {
				keys = append(keys, kernel.IssueLockKey(p[0], p[1]))
			}
		}
		if len(keys) == 0 {
			return nil, nil
		}
		return nil, kernel.WaitForIssuing(ctx, tx, s.Postgres, keys)
	}
	ids := make([]string, 0, len(pairs))
	var months []string
	seen := map[string]bool{}
	for p := range pairs {
		if !seen[p[0]] {
			seen[p[0]] = true
			ids = append(ids, p[0])
		}
		if !seen[p[1]] {
			seen[p[1]] = true
			months = append(months, p[1])
		}
	}
	invs, err := tx.Invoice.Query().Where(invoice.BillingGroupIDIn(ids...), invoice.MonthIn(months...), kernel.Live()).
		Select(invoice.FieldBillingGroupID, invoice.FieldMonth).All(ctx)
	if err != nil {
		return nil, err
	}
	out := map[[2]string]bool{}
	for _, inv := range invs {
		if k := [2]string{inv.BillingGroupID, inv.Month}; pairs[k] {
			out[k] = true
		}
	}
	return out, nil
}
