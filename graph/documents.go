package graph

import (
	"github.com/cloudbill/cloudbill/billing/accounts"
	"github.com/cloudbill/cloudbill/billing/documents"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/graph/model"
)

// lang is a document's or message's language asked for; "" when not asked.
func lang(l *model.Language) locale.Lang {
	if l == nil {
		return ""
	}
	return locale.Lang(*l)
}

func billingProfile(a *ent.Account) *model.BillingProfile {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return &model.BillingProfile{LegalName: opt(a.LegalName), BusinessRegistrationNumber: opt(a.BusinessRegistrationNumber),
		RepresentativeName: opt(a.RepresentativeName), Address: opt(a.Address)}
}

func profileUpdate(in model.UpdateBillingProfileInput) accounts.ProfileUpdate {
	u := accounts.ProfileUpdate{LegalName: in.LegalName, BusinessRegistrationNumber: in.BusinessRegistrationNumber,
		RepresentativeName: in.RepresentativeName, Address: in.Address}
	if in.Language != nil {
		s := string(*in.Language)
		u.Language = &s
	}
	return u
}

// exportURL signs a link to a tax invoice's export in format: the
// document of kind jsonKind or csvKind of billing group bgID named by ref.
func (r *Resolver) exportURL(format model.TaxInvoiceExportFormat, jsonKind, csvKind, bgID, ref string) string {
	kind := jsonKind
	if format == model.TaxInvoiceExportFormatCSV {
		kind = csvKind
	}
	url, _ := r.Docs.URL(documents.Link{Kind: kind, BillingGroupID: bgID, Ref: ref}, r.Clock.Now())
	return url
}
