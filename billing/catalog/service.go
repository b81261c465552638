// Package catalog is what cloudbill sells and at what price:
// regions, services and their prices, the Catalog that rating reads, and
// the Cache that keeps it between reads.
package catalog

import (
	"context"
	"regexp"
	"strings"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/price"
	"github.com/cloudbill/cloudbill/ent/region"
	"github.com/cloudbill/cloudbill/ent/service"
)

var codeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,58}[a-z0-9]$|^[a-z0-9]$`)

// CheckCode validates a catalog code (lower-case letters, digits, dashes).
func CheckCode(field, code string) error {
	if !codeRe.MatchString(code) {
		return kernel.FieldError(field, "%q is not a valid code (lower-case letters, digits and dashes)", kernel.Clip(code))
	}
	return nil
}

// Service owns the catalog's writes: regions, services and their prices.
// Cache, when set, is dropped after each change, so this replica rates with
// the new catalog at once (the others within CacheTTL).
type Service struct {
	Client *ent.Client
	Policy calendar.Policy
	Cache  *Cache
}

// CreateRegion adds a region to the catalog.
func (s Service) CreateRegion(ctx context.Context, code, name string) (*ent.Region, error) {
	if err := CheckCode("code", code); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	r, err := s.Client.Region.Create().SetCode(code).SetName(name).Save(ctx)
	if kernel.IsUniqueViolation(err) {
		return nil, &kernel.Error{Code: kernel.CodeConflict, Field: "code", Message: "a region with this code exists"}
	}
	if err == nil {
		s.Cache.Invalidate()
	}
	return r, err
}

// PriceSpec is one price of a new service.
type PriceSpec struct {
	Metric, Model, UnitPrice, Region string
}

// ServiceSpec describes a new catalog service.
type ServiceSpec struct {
	Code, Name, Category, Kind string
	Prices                     []PriceSpec
}

// CreateService adds a service and its prices to the catalog.
// Prices are in the policy's currency, within its limits.
func (s Service) CreateService(ctx context.Context, in ServiceSpec) (*ent.Service, error) {
	pol := s.Policy
	if err := CheckCode("code", in.Code); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	if len(in.Category) > 100 {
		return nil, kernel.FieldError("category", "category is at most 100 characters")
	}
	if len(in.Prices) == 0 || len(in.Prices) > 50 {
		return nil, kernel.FieldError("prices", "a service needs 1 to 50 prices")
	}
	var svc *ent.Service
	err := kernel.WithTx(ctx, s.Client, func(tx *ent.Tx) error {
		c := tx.Service.Create().SetCode(in.Code).SetName(in.Name).SetKind(service.Kind(in.Kind))
		if in.Category != "" {
			c.SetCategory(in.Category)
		}
		var err error
		svc, err = c.Save(ctx)
		if kernel.IsUniqueViolation(err) {
			return &kernel.Error{Code: kernel.CodeConflict, Field: "code", Message: "a service with this code exists"}
		}
		if err != nil {
			return err
		}
		for _, p := range in.Prices {
			if err := CheckCode("prices.metric", p.Metric); err != nil {
				return err
			}
			d, err := kernel.ParseDecimal(p.UnitPrice)
			if err != nil || d.IsNegative() || d.Exponent() < -6 {
				return kernel.FieldError("prices.unitPrice", "unit price must be a non-negative decimal with at most 6 decimal places")
			}
			if err := pol.CheckUnitPrice("prices.unitPrice", d); err != nil {
				return err
			}
			if p.Region != "" {
				ok, err := tx.Region.Query().Where(region.Code(p.Region)).Exist(ctx)
				if err != nil {
					return err
				}
				if !ok {
					return kernel.FieldError("prices.region", "unknown region %q", kernel.Clip(p.Region))
				}
			}
			err = tx.Price.Create().SetServiceID(svc.ID).SetRegionCode(p.Region).SetMetric(p.Metric).
				SetModel(price.Model(p.Model)).SetUnitPrice(d.String()).SetCurrency(pol.Currency).Exec(ctx)
			if kernel.IsUniqueViolation(err) {
				return kernel.FieldError("prices", "metric %q is priced twice for the same region", p.Metric)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.Cache.Invalidate()
	}
	return svc, err
}
