package accounts

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
)

// ProfileUpdate changes an account's language and the billing profile its
// documents are addressed with; a nil field is left as it is, an empty one
// is cleared.
type ProfileUpdate struct {
	Language                                                           *string // KO, EN
	LegalName, BusinessRegistrationNumber, RepresentativeName, Address *string
}

// UpdateProfile validates and stores a profile update of account a.
func UpdateProfile(ctx context.Context, client *ent.Client, a *ent.Account, in ProfileUpdate) (*ent.Account, error) {
	upd := client.Account.UpdateOneID(a.ID)
	if in.Language != nil {
		upd.SetLanguage(account.Language(*in.Language))
	}
	for _, f := range []struct {
		field string
		v     *string
		max   int
		set   func(string)
	}{
		{"legalName", in.LegalName, 200, func(s string) { upd.SetLegalName(s) }},
		{"representativeName", in.RepresentativeName, 100, func(s string) { upd.SetRepresentativeName(s) }},
		{"address", in.Address, 300, func(s string) { upd.SetAddress(s) }},
	} {
		if f.v == nil {
			continue
		}
		s := strings.TrimSpace(*f.v)
		if utf8.RuneCountInString(s) > f.max || strings.ContainsAny(s, "\x00\r\n\t") {
			return nil, kernel.FieldError(f.field, "%s is at most %d characters on one line", f.field, f.max)
		}
		f.set(s)
	}
	if in.BusinessRegistrationNumber != nil {
		n := strings.ReplaceAll(strings.TrimSpace(*in.BusinessRegistrationNumber), "-", "")
		if n != "" && a.MemberType != account.MemberTypeBUSINESS {
			return nil, kernel.FieldError("businessRegistrationNumber", "only businesses have a business registration number")
		}
		if n != "" && !ValidRegistrationNumber(n) {
			return nil, kernel.FieldError("businessRegistrationNumber", "not a valid business registration number (10 digits, 123-45-67890, with its check digit)")
		}
		upd.SetBusinessRegistrationNumber(n)
	}
	return upd.Save(ctx)
}

// ValidRegistrationNumber checks a Korean business registration number
// (사업자등록번호): 10 digits whose last is the check digit of the others
// (weights 1 3 7 1 3 7 1 3 5, plus the tens of the ninth digit × 5).
func ValidRegistrationNumber(n string) bool {
	if len(n) != 10 || strings.Trim(n, "0123456789") != "" {
		return false
	}
	weights := [9]int{1, 3, 7, 1, 3, 7, 1, 3, 5}
	sum := 0
	for i, w := range weights {
		sum += int(n[i]-'0') * w
	}
	sum += int(n[8]-'0') * 5 / 10
	return (10-sum%10)%10 == int(n[9]-'0')
}
