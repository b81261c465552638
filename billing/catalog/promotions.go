package catalog

import (
	"context"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/contract"
	"github.com/cloudbill/cloudbill/ent/service"
)

// PromotionSpec describes a new promotion.
type PromotionSpec struct {
	Name, ServiceCode, ProvisionType, PricingPlan string
	NumberProvided                                int
	BillingGroupID                                *string
}

// CreatePromotion adds a promotion of a catalog service.
func (s Service) CreatePromotion(ctx context.Context, in PromotionSpec) (*ent.Promotion, error) {
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	if in.NumberProvided < 0 || in.NumberProvided > 1_000_000 {
		return nil, kernel.FieldError("numberProvided", "numberProvided must be 0 to 1000000")
	}
	if len(in.ProvisionType) > 100 {
		return nil, kernel.FieldError("provisionType", "provisionType is at most 100 characters")
	}
	if len(in.PricingPlan) > 100 {
		return nil, kernel.FieldError("pricingPlan", "pricingPlan is at most 100 characters")
	}
	ok, err := s.Client.Service.Query().Where(service.Code(in.ServiceCode)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, kernel.FieldError("serviceCode", "unknown service %q", kernel.Clip(in.ServiceCode))
	}
	if in.BillingGroupID != nil {
		if _, err := s.Client.BillingGroup.Get(ctx, *in.BillingGroupID); err != nil {
			if ent.IsNotFound(err) {
				return nil, &kernel.Error{Code: kernel.CodeNotFound, Field: "billingGroupId", Message: "billing group not found"}
			}
			return nil, err
		}
	}
	return s.Client.Promotion.Create().SetName(in.Name).SetServiceCode(in.ServiceCode).
		SetProvisionType(in.ProvisionType).SetPricingPlan(in.PricingPlan).SetNumberProvided(in.NumberProvided).
		SetNillableBillingGroupID(in.BillingGroupID).Save(ctx)
}

// PromotionUsed counts how many of a promotion's units a billing group
// uses: its contracts of the service in force today, at most the number
// provided. Decision: the promotion's "number used" is per viewing group.
func (s Service) PromotionUsed(ctx context.Context, at time.Time, p *ent.Promotion, bgID string) (int, error) {
	now := at.In(s.Policy.Location())
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	n, err := s.Client.Contract.Query().Where(contract.BillingGroupID(bgID), contract.ServiceCode(p.ServiceCode),
		contract.StartsOnLTE(today), contract.Or(contract.EndsOnIsNil(), contract.EndsOnGTE(today))).Count(ctx)
	if err != nil {
		return 0, err
	}
	return min(n, p.NumberProvided), nil
}
