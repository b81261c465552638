package graph

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/accounts"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/documents"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/graph/model"
	"github.com/cloudbill/cloudbill/graph/scalars"
	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

func scalarsDecimal(s string) scalars.Decimal { return scalars.Decimal(s) }

func (r *Resolver) session(ctx context.Context, acct *ent.Account) (*model.AuthPayload, error) {
	s, err := r.Tokens.Issue(ctx, r.Client, acct, "")
	if err != nil {
		return nil, err
	}
	return &model.AuthPayload{Account: acct, AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, AccessTokenExpiresAt: s.AccessExpiresAt}, nil
}

// visibleBillingGroups lists what the caller may see, main first.
func (r *Resolver) visibleBillingGroups(ctx context.Context, p *auth.Principal) ([]*ent.BillingGroup, error) {
	if p.OrgID == "" {
		return []*ent.BillingGroup{}, nil
	}
	q := r.Client.BillingGroup.Query().Where(billinggroup.OrgID(p.OrgID))
	if !p.Master && !(p.Partner && p.HasScope(auth.ScopeBillingRead)) {
		ids := make([]string, 0, len(p.Grants))
		for id := range p.Grants {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		q = q.Where(billinggroup.IDIn(ids...))
	}
	return q.Order(ent.Desc(billinggroup.FieldIsMain), ent.Asc(billinggroup.FieldName)).All(ctx)
}

func (r *Resolver) masterBillingGroup(ctx context.Context, id string) (*ent.BillingGroup, error) {
	if _, err := requireMaster(ctx); err != nil {
		return nil, err
	}
	bg, _, err := r.loadBillingGroup(ctx, id, func(p *auth.Principal, bg *ent.BillingGroup) bool { return p.Master })
	return bg, err
}

func checkScopes(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, kernel.FieldError("scopes", "give at least one scope: %v", auth.Scopes)
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		ok := false
		for _, v := range auth.Scopes {
			ok = ok || v == s
		}
		if !ok {
			return nil, kernel.FieldError("scopes", "unknown scope %q (valid: %v)", s, auth.Scopes)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// catalog is the catalog's service, dropping this replica's cached catalog
// after each change.
func (r *Resolver) catalog() catalog.Service {
	return catalog.Service{Client: r.Client, Policy: r.Policy, Cache: r.Catalog}
}

func (r *Resolver) engine() *billing.Engine {
	e := &billing.Engine{Client: r.Client, Policy: r.Policy, Clock: r.Clock, Postgres: r.Postgres, Gateway: r.Gateway, Log: r.Log, Catalog: r.Catalog, Terms: r.Terms,
		IngestGate: r.IngestGate}
	if r.Hub != nil {
		e.Events = r.Hub
	}
	return e
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func money(v int64, currency string) *model.Money {
	return &model.Money{Amount: scalars.Decimal(kernel.FormatMinor(v, currency)), Currency: currency}
}

func usageReport(rep *rated.UsageReport) *model.UsageReport {
	cur := rep.Currency
	out := &model.UsageReport{
		Period: &model.UsagePeriod{Month: scalars.Month(rep.Month.String()),
			From: rep.From.Format("2006-01-02"), To: rep.To.Format("2006-01-02")},
		Lines:      make([]*model.UsageLine, len(rep.Lines)),
		UsedAmount: money(rep.Used, cur), DiscountAmount: money(rep.Discount, cur), EstimatedAmount: money(rep.Estimated, cur),
	}
	for i, l := range rep.Lines {
		out.Lines[i] = &model.UsageLine{Region: l.Region, ServiceCode: l.ServiceCode, ServiceName: l.ServiceName,
			UsedAmount: money(l.Used, cur), DiscountAmount: money(l.Discount, cur), EstimatedAmount: money(l.Used-l.Discount, cur)}
	}
	return out
}

// checkPage requires a page size of 1..100 on connections, so no request
// can ask for an unbounded list.
func checkPage(first, last *int) error {
	switch {
	case first == nil && last == nil:
		return kernel.FieldError("first", "give first or last (1 to 100)")
	case first != nil && (*first < 1 || *first > 100):
		return kernel.FieldError("first", "first must be 1 to 100")
	case last != nil && (*last < 1 || *last > 100):
		return kernel.FieldError("last", "last must be 1 to 100")
	}
	return nil
}

// batchErrors reports a refused usage batch as one GraphQL error per bad
// event (with its index and field), so a client can fix them all at once.
func batchErrors(ctx context.Context, err error) error {
	var be *usage.BatchError
	if !errors.As(err, &be) {
		return err
	}
	for i, e := range be.Events {
		if i == 20 {
			break // the first 20 are plenty to act on
		}
		graphql.AddError(ctx, &gqlerror.Error{
			Message: fmt.Sprintf("event %d (%s): %s", e.Index, e.EventID, e.Message),
			Path:    graphql.GetPath(ctx),
			Extensions: map[string]any{"code": kernel.CodeBadUserInput, "field": "events." + e.Field,
				"eventIndex": e.Index, "eventId": e.EventID},
		})
	}
	return &kernel.Error{Code: kernel.CodeBadUserInput, Field: "events", Message: be.Error()}
}

// documentURL signs a download link for a billing manager of the group.
func (r *Resolver) documentURL(ctx context.Context, in model.DocumentInput, kind string) (*model.DocumentPayload, error) {
	bg, _, err := r.loadBillingGroup(ctx, in.BillingGroupID, canManageBillingGroup)
	if err != nil {
		return nil, err
	}
	if err := r.engine().Rated().RequireEnded(in.Month.Parse(), "month"); err != nil {
		return nil, err
	}
	link := documents.Link{Kind: kind, BillingGroupID: bg.ID, Ref: string(in.Month), Lang: lang(in.Language)}
	url, exp := r.Docs.URL(link, r.Clock.Now())
	return &model.DocumentPayload{URL: url, ExpiresAt: exp}, nil
}

// runJobs runs the billing calendar up to at: through the server's RunJobs
// (production's rule on instants, metrics) when it gave one.
func (r *Resolver) runJobs(ctx context.Context, at time.Time) (billing.JobResult, error) {
	if r.RunJobs != nil {
		return r.RunJobs(ctx, at)
	}
	return r.engine().RunJobs(ctx, at)
}

func runJobsPayload(at time.Time, res billing.JobResult) *model.RunBillingJobsPayload {
	out := &model.RunBillingJobsPayload{At: at, Issued: res.Issued, Charged: res.Charged, Failed: res.Failed,
		Outstanding: res.Outstanding, LateFees: res.LateFees, Expired: res.Expired, RanThrough: res.RanThrough,
		Steps: res.Steps, StepFailures: make([]*model.BillingJobFailure, len(res.Failures))}
	for i, f := range res.Failures {
		jf := &model.BillingJobFailure{Step: f.Step, BillingGroupID: f.BillingGroupID, SubjectID: f.SubjectID,
			Key: f.Key, Error: f.Error, Attempts: f.Attempts}
		if f.Month != "" {
			m := scalars.Month(f.Month)
			jf.Month = &m
		}
		out.StepFailures[i] = jf
	}
	return out
}

// diskUnit is the display unit of a channel service's disk usage; GB when
// it used none (what channel disk is priced in).
func diskUnit(u string) string {
	if u == "" {
		return "GB"
	}
	return u
}

func (r *Resolver) accounts() *accounts.Service {
	return &accounts.Service{Client: r.Client, Clock: r.Clock}
}
