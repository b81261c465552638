// Package budgets is R-70's budget alerts: a billing group's monthly
// budget with thresholds, the month's spending so far and its forecast,
// and the notices of a crossed threshold, told once however many replicas
// and batches race past it. What the month has spent is asked of the
// engine that rates it (Service.Spent), and the notices are queued through
// Service.Notify, so budgets imports nothing of billing.
package budgets

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/domain"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/topics"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/budgetalert"
	"github.com/cloudbill/cloudbill/ent/budgetalertfiring"
)

// Budget alerts. A billing manager sets a monthly budget on a billing
// group with thresholds in percent; when the month's amount so far — usage
// after discounts, before credits and VAT, including the day in progress —
// reaches a threshold, the organization is told by email, SMS and a signed
// webhook (topic budget.threshold_crossed), once per threshold and month.
// The once is the database's: a BudgetAlertFiring row per (alert, month,
// threshold) under a unique key, written in the transaction that queues
// the notices, so replicas and batches racing past a threshold queue them
// once.

// Service owns the budget alerts of a database. Spent rates a billing
// group's month m through day day (usage after discounts, before credits
// and VAT); Notify queues a notice to the organization's master in tx.
type Service struct {
	domain.Base
	Spent  func(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, day int) (int64, error)
	Notify func(ctx context.Context, tx *ent.Tx, orgID, topic string, payload map[string]any) error
	Log    *slog.Logger // what could not be checked (none when nil)
}

// Bounds of an alert's input.
const (
	maxBudgetThresholds = 10
	maxBudgetThreshold  = 1000 // percent
	maxBudgetAlerts     = 20   // per billing group
	// maxBudgetAmount bounds a monthly budget (minor units): a trillion
	// won is past any billing group's month here, and keeps amount ×
	// threshold far inside int64.
	maxBudgetAmount = 1_000_000_000_000
)

func budgetAmount(s, currency string) (int64, error) {
	amount, err := kernel.ParseAmount(s, currency, "amount")
	if err != nil {
		return 0, err
	}
	return amount, kernel.CheckAmount("amount", "a budget", amount, maxBudgetAmount, currency)
}

// BudgetSpec is what createBudgetAlert and updateBudgetAlert take; nil
// fields of an update keep what is stored.
type BudgetSpec struct {
	Name       *string
	Amount     *string // major units, a decimal string
	Thresholds []int
}

// NormalizeThresholds sorts and checks percentages: 1 to 10 distinct
// values from 1 to 1000.
func NormalizeThresholds(ts []int) ([]int, error) {
	if len(ts) == 0 || len(ts) > maxBudgetThresholds {
		return nil, kernel.FieldError("thresholds", "give 1 to %d thresholds", maxBudgetThresholds)
	}
	out := slices.Clone(ts)
	slices.Sort(out)
	for i, t := range out {
		if t < 1 || t > maxBudgetThreshold {
			return nil, kernel.FieldError("thresholds", "a threshold is a percentage from 1 to %d", maxBudgetThreshold)
		}
		if i > 0 && out[i-1] == t {
			return nil, kernel.FieldError("thresholds", "threshold %d is given twice", t)
		}
	}
	return out, nil
}

func budgetName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len([]rune(s)) > 200 {
		return "", kernel.FieldError("name", "a name is 1 to 200 characters")
	}
	return s, nil
}

// CreateBudgetAlert sets a new budget on bg and checks it at once, so a
// budget set below what the month already reached tells so now. With an
// idempotency key the same caller, key and input answer the first
// alert, and another input is refused.
func (s *Service) CreateBudgetAlert(ctx context.Context, bg *ent.BillingGroup, caller, key string, spec BudgetSpec) (*ent.BudgetAlert, error) {
	if spec.Name == nil || spec.Amount == nil {
		return nil, kernel.FieldError("amount", "a budget needs a name and an amount")
	}
	name, err := budgetName(*spec.Name)
	if err != nil {
		return nil, err
	}
	amount, err := budgetAmount(*spec.Amount, bg.Currency)
	if err != nil {
		return nil, err
	}
	ts, err := NormalizeThresholds(spec.Thresholds)
	if err != nil {
		return nil, err
	}
	create := func(tx *ent.Tx) (any, error) {
		n, err := tx.BudgetAlert.Query().Where(budgetalert.BillingGroupID(bg.ID)).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n >= maxBudgetAlerts {
			return nil, kernel.FieldError("billingGroupId", "a billing group has at most %d budget alerts", maxBudgetAlerts)
		}
		a, err := tx.BudgetAlert.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).SetName(name).
			SetAmount(amount).SetCurrency(bg.Currency).SetThresholds(ts).SetCreatedBy(caller).Save(ctx)
		if err != nil {
			return nil, err
		}
		return a.ID, nil
	}
	var id string
	if key != "" {
		input := []any{bg.ID, name, amount, ts}
		_, err = kernel.Idempotent(ctx, s.Client, bg.OrgID, caller, key, "createBudgetAlert", input, &id, create)
	} else {
		err = kernel.WithTx(ctx, s.Client, func(tx *ent.Tx) error {
			v, err := create(tx)
			if err == nil {
				id = v.(string)
			}
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	a, err := s.Client.BudgetAlert.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return a, s.checkAlerts(ctx, bg, []*ent.BudgetAlert{a})
}

// UpdateBudgetAlert changes an alert. Thresholds already crossed this month
// stay told; a lower amount or a new threshold that the month has reached
// is told now.
func (s *Service) UpdateBudgetAlert(ctx context.Context, bg *ent.BillingGroup, a *ent.BudgetAlert, spec BudgetSpec) (*ent.BudgetAlert, error) {
	up := s.Client.BudgetAlert.UpdateOne(a)
	if spec.Name != nil {
		name, err := budgetName(*spec.Name)
		if err != nil {
			return nil, err
		}
		up.SetName(name)
	}
	if spec.Amount != nil {
		amount, err := budgetAmount(*spec.Amount, bg.Currency)
		if err != nil {
			return nil, err
		}
		up.SetAmount(amount)
	}
	if spec.Thresholds != nil {
		ts, err := NormalizeThresholds(spec.Thresholds)
		if err != nil {
			return nil, err
		}
		up.SetThresholds(ts)
	}
	a, err := up.Save(ctx)
	if err != nil {
		return nil, err
	}
	return a, s.checkAlerts(ctx, bg, []*ent.BudgetAlert{a})
}

// DeleteBudgetAlert removes an alert and what it recorded as told.
func (s *Service) DeleteBudgetAlert(ctx context.Context, a *ent.BudgetAlert) error {
	return kernel.WithTx(ctx, s.Client, func(tx *ent.Tx) error {
		if _, err := tx.BudgetAlertFiring.Delete().Where(budgetalertfiring.AlertID(a.ID)).Exec(ctx); err != nil {
			return err
		}
		return tx.BudgetAlert.DeleteOne(a).Exec(ctx)
	})
}

// BudgetStatus is an alert's month so far and where it is heading.
type BudgetStatus struct {
	Month calendar.Month
	// Spent is the month's amount so far (usage after discounts, before
	// credits and VAT), the day in progress included.
	Spent int64
	// Forecast is Spent carried on at the same pace to the month's end:
	// Spent × days of the month ÷ days so far (today counted), rounded
	// half up to the minor unit.
	Forecast int64
	// Crossed are the thresholds told this month, ascending.
	Crossed []int
}

// monthSoFar is the current month and its day of month in the policy's zone.
func (s *Service) monthSoFar() (calendar.Month, int) {
	now := s.Clock.Now().In(s.Policy.Location())
	return calendar.Month{Year: now.Year(), Month: now.Month()}, now.Day()
}

// spentSoFar rates bg's current month through the day in progress.
func (s *Service) spentSoFar(ctx context.Context, bg *ent.BillingGroup) (calendar.Month, int, int64, error) {
	m, day := s.monthSoFar()
	spent, err := s.Spent(ctx, bg, m, day)
	return m, day, spent, err
}

// Forecast carries spent over day days on to the m's last day (half up).
func Forecast(spent int64, day int, m calendar.Month) int64 {
	if day <= 0 || spent <= 0 {
		return 0
	}
	days := int64(m.Days())
	// spent ≤ 10^16 (a group's month is bounded) and days ≤ 31: no overflow.
	return (spent*days*2 + int64(day)) / (int64(day) * 2)
}

// BudgetStatusOf reports an alert's month.
func (s *Service) BudgetStatusOf(ctx context.Context, bg *ent.BillingGroup, a *ent.BudgetAlert) (*BudgetStatus, error) {
	m, day, spent, err := s.spentSoFar(ctx, bg)
	if err != nil {
		return nil, err
	}
	fired, err := s.Client.BudgetAlertFiring.Query().
		Where(budgetalertfiring.AlertID(a.ID), budgetalertfiring.Month(m.String())).All(ctx)
	if err != nil {
		return nil, err
	}
	st := &BudgetStatus{Month: m, Spent: spent, Forecast: Forecast(spent, day, m), Crossed: []int{}}
	for _, f := range fired {
		st.Crossed = append(st.Crossed, f.Threshold)
	}
	slices.Sort(st.Crossed)
	return st, nil
}

// CheckBudgets looks at the budget alerts of the billing groups a usage
// batch touched. It runs after the batch committed: a failure here is
// logged, never the batch's, and the next batch or alert change looks
// again. Groups without alerts cost one indexed query for all of them.
func (s *Service) CheckBudgets(ctx context.Context, groups map[string]*ent.BillingGroup) {
	if len(groups) == 0 {
		return
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	alerts, err := s.Client.BudgetAlert.Query().Where(budgetalert.BillingGroupIDIn(ids...)).All(ctx)
	if err == nil {
		byGroup := map[string][]*ent.BudgetAlert{}
		for _, a := range alerts {
			byGroup[a.BillingGroupID] = append(byGroup[a.BillingGroupID], a)
		}
		for id, as := range byGroup {
			if err = s.checkAlerts(ctx, groups[id], as); err != nil {
				break
			}
		}
	}
	if err != nil && s.Log != nil {
		s.Log.Warn("budget alerts not checked", "error", err)
	}
}

// checkAlerts tells every threshold of alerts that bg's month has reached
// and that was not told yet.
func (s *Service) checkAlerts(ctx context.Context, bg *ent.BillingGroup, alerts []*ent.BudgetAlert) error {
	m, day, spent, err := s.spentSoFar(ctx, bg)
	if err != nil || spent <= 0 {
		return err
	}
	for _, a := range alerts {
		for _, t := range a.Thresholds {
			// spent*100 ≥ amount*t, both ≤ 10^18.
			if spent*100 < a.Amount*int64(t) {
				break
			}
			if err := s.fire(ctx, bg, a, m, t, spent, Forecast(spent, day, m)); err != nil {
				return err
			}
		}
	}
	return nil
}

// fire records a crossed threshold and queues its notices in one
// transaction; a threshold already told is left alone (the unique key).
func (s *Service) fire(ctx context.Context, bg *ent.BillingGroup, a *ent.BudgetAlert, m calendar.Month, threshold int, spent, forecast int64) error {
	told, err := s.Client.BudgetAlertFiring.Query().Where(budgetalertfiring.AlertID(a.ID),
		budgetalertfiring.Month(m.String()), budgetalertfiring.Threshold(threshold)).Exist(ctx)
	if err != nil || told {
		return err
	}
	err = kernel.WithTx(ctx, s.Client, func(tx *ent.Tx) error {
		if err := tx.BudgetAlertFiring.Create().SetOrgID(a.OrgID).SetAlertID(a.ID).SetMonth(m.String()).
			SetThreshold(threshold).SetAmount(spent).Exec(ctx); err != nil {
			return err
		}
		return s.Notify(ctx, tx, a.OrgID, topics.BudgetThresholdCrossed, map[string]any{
			"alertId": a.ID, "alertName": a.Name, "billingGroupId": bg.ID, "billingGroupName": bg.Name,
			"month": m.String(), "threshold": threshold, "currency": a.Currency,
			// Amounts in major units, as every notice's payload gives them.
			"budgetAmount": kernel.FormatMinor(a.Amount, a.Currency), "spentAmount": kernel.FormatMinor(spent, a.Currency),
			"forecastAmount": kernel.FormatMinor(forecast, a.Currency),
			"crossedAt":      s.Clock.Now().UTC().Format(time.RFC3339),
		})
	})
	if kernel.IsUniqueViolation(err) {
		return nil // another replica or batch told it first
	}
	if err != nil {
		return fmt.Errorf("budget alert %s at %d%%: %w", a.ID, threshold, err)
	}
	return nil
}
