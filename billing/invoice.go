package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/billing/topics"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/coincharge"
	"github.com/cloudbill/cloudbill/ent/contract"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/discount"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/usagedaily"
	"github.com/shopspring/decimal"
)

// IssueInvoices issues the invoice of the month due at instant at for every
// billing group that has none yet: the first step of RunJobs, run
// here on its own. Safe on several replicas at once: a unique (billing
// group, month) constraint lets exactly one insert win; the others
// roll back and move on. The groups it failed for are its error
// (StepFailures), after it issued the others.
func (e *Engine) IssueInvoices(ctx context.Context, at time.Time) (int, error) {
	res, err := e.runStep(ctx, at, StepIssue, (*jobRun).issueInvoices)
	return res.Issued, err
}

// issueInvoices retries the months whose issue failed before, then issues
// the month due for every group that still lacks it, a page at a time.
func (r *jobRun) issueInvoices(ctx context.Context) error {
	m := r.e.Policy.DueMonth(r.at)
	if err := r.retryIssues(ctx, m); err != nil {
		return err
	}
	loc := r.e.Policy.Location()
	after := ""
	for {
		// Only the groups still without the month's invoice, in one
		// statement (an anti-join on the unique (billing group, month)
		// index): the job runs every minute on every replica, and once the
		// month is issued this finds nothing at once.
		todo, err := r.e.Client.BillingGroup.Query().
			Where(billinggroup.CreatedAtLT(m.End(loc)), billinggroup.IDGT(after), func(s *sql.Selector) {
				t := sql.Table(invoice.Table)
				s.Where(sql.NotExists(sql.Select(t.C(invoice.FieldID)).From(t).Where(sql.And(
					sql.ColumnsEQ(t.C(invoice.FieldBillingGroupID), s.C(billinggroup.FieldID)),
					sql.EQ(t.C(invoice.FieldMonth), m.String())))))
			}).
			Order(ent.Asc(billinggroup.FieldID)).Limit(issueBatch).All(ctx)
		if err != nil || len(todo) == 0 {
			return err
		}
		after = todo[len(todo)-1].ID
		if err := r.issueAll(ctx, todo, m); err != nil {
			return err
		}
		if len(todo) < issueBatch {
			return nil
		}
	}
}

// retryIssues issues again the earlier months whose issue failed (the
// month due is retried with the other groups).
func (r *jobRun) retryIssues(ctx context.Context, due calendar.Month) error {
	for _, f := range r.retries(StepIssue) {
		m, err := calendar.ParseMonth(f.Month)
		if err != nil || m == due {
			continue
		}
		fail := JobFailure{Step: StepIssue, OrgID: f.OrgID, BillingGroupID: f.BillingGroupID, SubjectID: f.SubjectID, Month: f.Month, Key: f.Key}
		err = r.isolate(ctx, fail, func() error {
			bg, err := r.e.Client.BillingGroup.Get(ctx, f.BillingGroupID)
			if ent.IsNotFound(err) {
				return nil // the group is gone: nothing left to issue
			}
			if err != nil {
				return err
			}
			inv, err := r.issueGroup(ctx, bg, m, nil)
			if err == nil && inv != nil && !r.at.Before(r.e.Policy.TaxInvoiceDate(m)) {
				// Issued after its tax invoice day: the tax invoice follows now.
				return r.taxInvoice(ctx, inv, r.e.Payments().PayerCache())
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// issueBatch is how many billing groups are read at once: the month close
// streams through the groups in pages instead of loading them all.
const issueBatch = 500

// issueWorkers issue a page's invoices in parallel on PostgreSQL (SQLite
// has one writer anyway).
const issueWorkers = 4

// issueAll issues month m for a page of groups, each on its own: a group
// that fails is recorded and the others are issued.
func (r *jobRun) issueAll(ctx context.Context, groups []*ent.BillingGroup, m calendar.Month) error {
	workers := 1
	if r.e.Postgres {
		workers = issueWorkers
	}
	pre, err := r.e.prefetch(ctx, groups, m)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		// One group's data can fail the page's reads (a sum out of
		// range): each group then reads its own, so that only its own
		// issue fails.
		r.e.log().Warn("month close: reading a page of billing groups failed; issuing them one by one",
			"month", m.String(), "groups", len(groups), "err", err)
		pre = nil
	}
	var mu sync.Mutex
	var fatal error
	next := make(chan *ent.BillingGroup)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range next {
				fail := JobFailure{Step: StepIssue, OrgID: g.OrgID, BillingGroupID: g.ID, SubjectID: g.ID, Month: m.String(), Key: m.String()}
				err := r.isolate(ctx, fail, func() error {
					_, err := r.issueGroup(ctx, g, m, pre)
					return err
				})
				if err != nil {
					mu.Lock()
					if fatal == nil {
						fatal = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, g := range groups {
		mu.Lock()
		stop := fatal != nil
		mu.Unlock()
		if stop {
			break
		}
		next <- g
	}
	close(next)
	wg.Wait()
	return fatal
}

// issueGroup issues month m for one group, counted in the run's result
// (nil: another run issued it).
func (r *jobRun) issueGroup(ctx context.Context, g *ent.BillingGroup, m calendar.Month, pre *prefetch) (*ent.Invoice, error) {
	inv, err := r.e.issueOne(ctx, g, m, pre, r.at)
	if inv != nil {
		r.mu.Lock()
		r.res.Issued++
		r.mu.Unlock()
	}
	return inv, err
}

// IssueInvoice rates month m for one billing group and writes its invoice,
// lines, credit uses and notifications in one transaction. It returns nil
// without error when another run issued the invoice first.
func (e *Engine) IssueInvoice(ctx context.Context, bg *ent.BillingGroup, m calendar.Month) (*ent.Invoice, error) {
	return e.issueOne(ctx, bg, m, nil, e.Policy.IssuedAt(m))
}

// prefetch is what rating reads for a page of billing groups, read in a few
// statements before their invoices are issued one transaction each.
type prefetch struct {
	usageRev  map[string]int64 // by organization, read before usage
	usage     map[string][]rating.UsageRow
	contracts map[string][]*ent.Contract
	discounts map[string][]*ent.Discount
	masters   map[string]*ent.Account // by organization
	hasCoins  map[string]bool         // by account
}

func (e *Engine) prefetch(ctx context.Context, groups []*ent.BillingGroup, m calendar.Month) (*prefetch, error) {
	p := &prefetch{usageRev: map[string]int64{}, usage: map[string][]rating.UsageRow{}, contracts: map[string][]*ent.Contract{},
		discounts: map[string][]*ent.Discount{}, masters: map[string]*ent.Account{}, hasCoins: map[string]bool{}}
	ids := make([]string, len(groups))
	orgSet := map[string]bool{}
	for i, g := range groups {
		ids[i] = g.ID
		orgSet[g.OrgID] = true
	}
	orgs := make([]string, 0, len(orgSet))
	for o := range orgSet {
		orgs = append(orgs, o)
	}
	revs, err := e.Client.Organization.Query().Where(organization.IDIn(orgs...)).
		Select(organization.FieldID, organization.FieldUsageRevision).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range revs {
		p.usageRev[o.ID] = o.UsageRevision
	}
	var sums []struct {
		BG      string `json:"billing_group_id"`
		Service string `json:"service_code"`
		Region  string `json:"region_code"`
		Channel string `json:"channel"`
		Metric  string `json:"metric"`
		Micros  int64  `json:"micros"`
	}
	err = e.Client.UsageDaily.Query().
		Where(usagedaily.BillingGroupIDIn(ids...), usagedaily.DayGTE(fmt.Sprintf("%s-01", m)),
			usagedaily.DayLTE(fmt.Sprintf("%s-%02d", m, m.Days()))).
		GroupBy(usagedaily.FieldBillingGroupID, usagedaily.FieldServiceCode, usagedaily.FieldRegionCode, usagedaily.FieldChannel, usagedaily.FieldMetric).
		Aggregate(func(s *sql.Selector) string { return sql.As(sql.Sum(usagedaily.FieldQuantityMicros), "micros") }).
		Scan(ctx, &sums)
	if err != nil {
		return nil, err
	}
	for _, u := range sums {
		p.usage[u.BG] = append(p.usage[u.BG], rating.UsageRow{ServiceCode: u.Service, Region: u.Region, Channel: u.Channel, Metric: u.Metric, Micros: u.Micros})
	}
	cs, err := e.Client.Contract.Query().Where(contract.BillingGroupIDIn(ids...)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		p.contracts[c.BillingGroupID] = append(p.contracts[c.BillingGroupID], c)
	}
	ds, err := e.Client.Discount.Query().Where(discount.BillingGroupIDIn(ids...), discount.Month(m.String())).
		Order(ent.Asc(discount.FieldCreatedAt), ent.Asc(discount.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		p.discounts[d.BillingGroupID] = append(p.discounts[d.BillingGroupID], d)
	}
	ms, err := e.Client.Account.Query().Where(account.OrgIDIn(orgs...), account.IsMaster(true)).All(ctx)
	if err != nil {
		return nil, err
	}
	mids := make([]string, 0, len(ms))
	for _, a := range ms {
		if p.masters[a.OrgID] == nil {
			p.masters[a.OrgID] = a
			mids = append(mids, a.ID)
		}
	}
	holders, err := e.Client.CoinCharge.Query().Where(coincharge.AccountIDIn(mids...),
		coincharge.Or(coincharge.ChargedRemainingGT(0), coincharge.BonusRemainingGT(0))).
		Select(coincharge.FieldAccountID).Strings(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range holders {
		p.hasCoins[h] = true
	}
	return p, nil
}

// issueOne issues month m for bg; writtenAt is the instant of the run that
// writes it (the invoice's creation, the coins it spends), issued_at the
// month's issue instant.
func (e *Engine) issueOne(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, pre *prefetch, writtenAt time.Time) (*ent.Invoice, error) {
	var out *ent.Invoice
	err := kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		var err error
		out, err = e.issueTx(ctx, tx, bg, m, pre, writtenAt, e.Policy.IssuedAt(m))
		return err
	})
	if errors.Is(err, errAlreadyIssued) {
		return nil, nil
	}
	return out, err
}

// issueTx is issueOne in tx: it answers errAlreadyIssued when the month has
// a live invoice or another transaction is issuing it. stamp is the
// invoice's issued_at: the calendar's instant for the month, or a
// reissue's own (void.go); credits are allocated as at the calendar's.
func (e *Engine) issueTx(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, m calendar.Month, pre *prefetch, writtenAt, stamp time.Time) (*ent.Invoice, error) {
	if err := e.claimIssue(ctx, tx, bg, m); err != nil {
		return nil, err
	}
	held, rev, err := lockCredits(ctx, tx, e.Postgres, bg, pre != nil)
	if err != nil {
		return nil, err
	}
	issuedAt := e.Policy.IssuedAt(m)
	// A free credit valid on part of the month pays only what its days
	// incurred: rate the usage by day then.
	byDay := rating.NeedsDays(held, m, issuedAt, e.Policy.Location())
	lines, duses, err := e.rateForIssue(ctx, tx, bg, m, pre, rev, byDay)
	if err != nil {
		return nil, err
	}
	uses := rating.AllocateCredits(lines, held, m, issuedAt, e.Policy.Location())
	inv, err := e.writeInvoice(ctx, tx, bg, m, lines, duses, stamp, writtenAt)
	if err != nil {
		return nil, err
	}
	if err := credits.Spend(ctx, tx, e.Postgres, bg.OrgID, bg.Currency, inv.ID, uses, issuedAt); err != nil {
		return nil, err
	}
	return e.settleIssued(ctx, tx, bg, inv, pre, writtenAt)
}

// claimIssue makes this transaction the one issuing bg's month m, on
// PostgreSQL: replicas divide the month close, and a group another replica
// is issuing right now (or that is issued) is skipped (errAlreadyIssued),
// not rated twice. SQLite has one writer.
func (e *Engine) claimIssue(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, m calendar.Month) error {
	if !e.Postgres {
		return nil
	}
	var got bool
	rows, err := tx.QueryContext(ctx, "SELECT pg_try_advisory_xact_lock(hashtext($1)) AND NOT EXISTS "+
		"(SELECT 1 FROM invoices WHERE billing_group_id = $2 AND month = $3 AND status <> 'VOID')", kernel.IssueLockKey(bg.ID, m.String()), bg.ID, m.String())
	if err != nil {
		return err
	}
	for rows.Next() {
		if err := rows.Scan(&got); err != nil {
			rows.Close()
			return err
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if !got { // another replica has it, or it is issued
		return errAlreadyIssued
	}
	return nil
}

// lockCredits reads the group's available credits for allocation, locking
// them (PostgreSQL) in id order, so transfers and other runs wait instead
// of spending them twice. With withRev it also answers the organization's
// usage revision as this transaction sees it after claimIssue (what
// rateForIssue compares with the prefetch's). PostgreSQL reads it in the
// same statement whether asked or not (lockCreditsSQL: a subquery costs
// less than a second shape of the statement), one round trip fewer per
// invoice of a month close.
func lockCredits(ctx context.Context, tx *ent.Tx, postgres bool, bg *ent.BillingGroup, withRev bool) ([]rating.CreditRow, int64, error) {
	if postgres {
		return lockCreditsPostgres(ctx, tx, bg)
	}
	held, err := tx.Credit.Query().Where(credit.BillingGroupID(bg.ID), credit.StatusEQ(credit.StatusAVAILABLE)).
		Order(ent.Asc(credit.FieldID)).All(ctx)
	if err != nil {
		return nil, 0, err
	}
	rows := make([]rating.CreditRow, len(held))
	for i, c := range held {
		rows[i] = rating.CreditRow{ID: c.ID, Type: string(c.Type), StartsAt: c.StartsAt, EndsAt: c.EndsAt,
			CreatedAt: c.CreatedAt, ServiceCodes: c.ServiceCodes, Remaining: c.Remaining}
	}
	var rev int
	if withRev {
		if rev, err = tx.Organization.Query().Where(organization.ID(bg.OrgID)).Select(organization.FieldUsageRevision).Int(ctx); err != nil {
			return nil, 0, err
		}
	}
	return rows, int64(rev), nil
}

// lockCreditsSQL locks the group's available credits in id order
// (MATERIALIZED: the CTE's own ORDER BY is the order of the locks) and
// answers them beside the organization's usage revision, one row with NULL
// credit columns when the group has none. Its snapshot is taken after
// claimIssue's statement, as a separate read's would be.
const lockCreditsSQL = `WITH held AS MATERIALIZED (
	SELECT id, type, starts_at, ends_at, created_at, service_codes, remaining FROM credits
	WHERE billing_group_id = $1 AND status = 'AVAILABLE' ORDER BY id FOR UPDATE
)
SELECT (SELECT usage_revision FROM organizations WHERE id = $2), held.id, held.type, held.starts_at, held.ends_at,
	held.created_at, held.service_codes, held.remaining
FROM (SELECT 1) AS one LEFT JOIN held ON true ORDER BY held.id`

func lockCreditsPostgres(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup) ([]rating.CreditRow, int64, error) {
	rs, err := tx.QueryContext(ctx, lockCreditsSQL, bg.ID, bg.OrgID)
	if err != nil {
		return nil, 0, err
	}
	defer rs.Close()
	var out []rating.CreditRow
	var rev int64
	for rs.Next() {
		var id, typ, codes sql.NullString
		var starts, ends, created sql.NullTime
		var remaining sql.NullInt64
		if err := rs.Scan(&rev, &id, &typ, &starts, &ends, &created, &codes, &remaining); err != nil {
			return nil, 0, err
		}
		if !id.Valid { // the group has no available credit
			continue
		}
		r := rating.CreditRow{ID: id.String, Type: typ.String, StartsAt: starts.Time, EndsAt: ends.Time,
			CreatedAt: created.Time, Remaining: remaining.Int64}
		if codes.Valid {
			if err := json.Unmarshal([]byte(codes.String), &r.ServiceCodes); err != nil {
				return nil, 0, fmt.Errorf("credit %s: service codes: %w", r.ID, err)
			}
		}
		out = append(out, r)
	}
	return out, rev, rs.Err()
}

// rateForIssue rates bg's month m and applies its discounts, from the
// month close's prefetch when it is still what the organization holds,
// else read again in tx.
func (e *Engine) rateForIssue(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, m calendar.Month, pre *prefetch, rev int64, byDay bool) ([]rating.Line, []rating.DiscountUse, error) {
	// What rating reads of the organization (usage, contracts, discounts)
	// changed since the prefetch read it — late usage of m, a discount, a
	// contract — is read again here. rev is the organization's usage
	// revision read after the claim (lockCredits): now that no recordUsage,
	// discount or contract change of m is in flight for the group (see
	// kernel.WaitForIssuing), that read sees all of it, and what comes later
	// is refused as invoiced.
	fresh := pre != nil && rev == pre.usageRev[bg.OrgID]
	if !fresh {
		lines, err := e.Rated().Rate(ctx, tx.Client(), bg, m, m.Days(), byDay)
		if err != nil {
			return nil, nil, err
		}
		duses, err := e.Rated().Discount(ctx, tx.Client(), bg, m, lines)
		return lines, duses, err
	}
	usage := pre.usage[bg.ID] // summed over the month
	if byDay {
		var err error
		if usage, err = rated.UsageSums(ctx, tx.Client(), bg.ID, m, m.Days(), true); err != nil {
			return nil, nil, err
		}
	}
	lines, err := e.Rated().RateRows(ctx, tx.Client(), bg, m, m.Days(), usage, pre.contracts[bg.ID])
	if err != nil {
		return nil, nil, err
	}
	var drows []rating.DiscountRow
	for _, d := range pre.discounts[bg.ID] {
		pct, err := decimal.NewFromString(d.Percentage)
		if err != nil {
			return nil, nil, err
		}
		drows = append(drows, rating.DiscountRow{ID: d.ID, Percentage: pct, ServiceCodes: d.ServiceCodes})
	}
	return lines, rating.ApplyDiscounts(lines, drows, kernel.CurrencyDigits[bg.Currency]), nil
}

// writeInvoice writes the invoice of bg's month m from its rated lines —
// its amounts their sums, its VAT R-39's on the determined amount — with
// its lines and discount uses; PAID at once when there is nothing to pay.
// errAlreadyIssued when the month has a live invoice already.
func (e *Engine) writeInvoice(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, m calendar.Month, lines []rating.Line, duses []rating.DiscountUse, stamp, writtenAt time.Time) (*ent.Invoice, error) {
	var usage, disc, cred, det int64
	for _, l := range lines {
		usage += l.Used
		disc += l.Discount
		cred += l.Credit
		det += l.Determined()
	}
	tax := rating.Tax(det, e.Policy.VATRate)
	status := invoice.StatusISSUED
	if det+tax == 0 {
		status = invoice.StatusPAID // nothing to pay
	}
	inv, err := tx.Invoice.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).SetMonth(m.String()).
		SetStatus(status).SetCurrency(bg.Currency).SetUsageAmount(usage).SetDiscountAmount(disc).
		SetCreditAmount(cred).SetDeterminedAmount(det).SetTaxAmount(tax).SetIssuedAt(stamp).SetCreatedAt(writtenAt).Save(ctx)
	if kernel.IsUniqueViolationOn(err, invoice.Table, invoice.FieldBillingGroupID, invoice.FieldMonth) {
		return nil, errAlreadyIssued // only this key says so; any other failure is one
	}
	if err != nil {
		return nil, err
	}
	if len(lines) > 0 {
		bulk := make([]*ent.InvoiceLineCreate, len(lines))
		for i, l := range lines {
			bulk[i] = tx.InvoiceLine.Create().SetOrgID(bg.OrgID).SetInvoiceID(inv.ID).SetPosition(i).
				SetRegionCode(l.Region).SetServiceCode(l.ServiceCode).SetServiceName(l.ServiceName).SetCurrency(bg.Currency).
				SetUsedAmount(l.Used).SetDiscountAmount(l.Discount).SetCreditAmount(l.Credit).
				SetDeterminedAmount(l.Determined())
		}
		if err := tx.InvoiceLine.CreateBulk(bulk...).Exec(ctx); err != nil {
			return nil, err
		}
	}
	for _, u := range duses {
		if err := tx.DiscountUse.Create().SetOrgID(bg.OrgID).SetDiscountID(u.DiscountID).SetInvoiceID(inv.ID).
			SetServiceCode(lines[u.Line].ServiceCode).SetCurrency(bg.Currency).SetAmount(u.Amount).Exec(ctx); err != nil {
			return nil, err
		}
	}
	return inv, nil
}

// settleIssued pays a newly issued invoice with the master's coins first
// and queues its notice, answering it as it stands.
func (e *Engine) settleIssued(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, inv *ent.Invoice, pre *prefetch, writtenAt time.Time) (*ent.Invoice, error) {
	var master *ent.Account
	var err error
	if pre != nil {
		master = pre.masters[bg.OrgID]
	} else if master, err = tx.Account.Query().Where(account.OrgID(bg.OrgID), account.IsMaster(true)).First(ctx); err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	if inv.Status == invoice.StatusISSUED && master != nil && (pre == nil || pre.hasCoins[master.ID]) {
		used, err := e.Coins().Spend(ctx, tx, master, inv, inv.DeterminedAmount+inv.TaxAmount, false, writtenAt)
		if err != nil {
			return nil, err
		}
		if used > 0 {
			if inv, err = tx.Invoice.Get(ctx, inv.ID); err != nil {
				return nil, err
			}
		}
	}
	if err := e.notifyInvoice(ctx, tx, bg, master, inv); err != nil {
		return nil, err
	}
	return inv, nil
}

var errAlreadyIssued = fmt.Errorf("invoice already issued")

// notifyInvoice queues the notice of an issued invoice in the
// invoice's own transaction: its amount, the days the card is charged and
// the due date.
func (e *Engine) notifyInvoice(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, master *ent.Account, inv *ent.Invoice) error {
	m, err := calendar.ParseMonth(inv.Month)
	if err != nil {
		return err
	}
	first, last := e.Policy.PaymentDays(m, inv.CreatedAt)
	// An invoice with nothing to pay (no usage, or credits and coins paid
	// it all) is not worth an email or a text asking to pay 0원 by a due
	// date; the organization's systems still hear of every invoice.
	channels := []string{topics.ChannelEmail, topics.ChannelSMS, topics.ChannelWebhook}
	if kernel.AmountDue(inv) == 0 {
		channels = []string{topics.ChannelWebhook}
	}
	return topics.Queue(ctx, tx, bg.OrgID, master, topics.InvoiceIssued, map[string]any{
		"invoiceId": inv.ID, "billingGroupId": bg.ID, "billingGroupName": bg.Name,
		"month": inv.Month, "amountDue": kernel.FormatMinor(kernel.AmountDue(inv), inv.Currency), "currency": inv.Currency,
		"paymentFrom": e.Policy.Date(first), "dueDate": e.Policy.Date(last),
	}, channels...)
}
