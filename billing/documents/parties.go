package documents

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
)

// Supplier is who issues the documents: the platform's company, from
// configuration (CLOUDBILL_SUPPLIER_*).
type Supplier struct {
	Name               string // 상호, as registered
	NameEN             string // for English documents; Name when empty
	RegistrationNumber string // 사업자등록번호, 10 digits
	Representative     string // 대표자
	Address            string
	Phone              string
	Email              string
	BusinessType       string // 업태
	BusinessItem       string // 종목
}

// DemoSupplier is the supplier documents name when none is configured: a
// made-up company whose registration number fails the national checksum,
// so that it can never be mistaken for a real one.
func DemoSupplier() Supplier {
	return Supplier{
		Name: "클라우드빌 주식회사", NameEN: "Cloudbill Co., Ltd.", RegistrationNumber: "1234567890",
		Representative: "홍길동", Address: "서울특별시 강남구 테헤란로 000, 데모빌딩 10층",
		Phone: "1588-0000", Email: "billing@cloudbill.local",
		BusinessType: "정보통신업", BusinessItem: "클라우드 컴퓨팅 서비스",
	}
}

// Party is the supplier as a document in language l names it.
func (s Supplier) Party(l locale.Lang) Party {
	name := s.Name
	if l == locale.EN && s.NameEN != "" {
		name = s.NameEN
	}
	return Party{Name: name, RegistrationNumber: s.RegistrationNumber, Representative: s.Representative,
		Address: s.Address, Phone: s.Phone, Email: s.Email, BusinessType: s.BusinessType, BusinessItem: s.BusinessItem}
}

// recipient is whom an organization's documents are addressed to: its
// master account, which pays for it, under the name, registration
// number, representative and address of its billing profile — the
// organization's name when it has none.
type recipient struct {
	Party
	account *ent.Account
	method  *ent.PaymentMethod // the automatic method; nil when none
	lang    locale.Lang        // the payer's language
}

func (r *Renderer) recipient(ctx context.Context, orgID string) (*recipient, error) {
	payer, method, err := r.Engine.Payments().Payer(ctx, orgID)
	if err != nil {
		return nil, err
	}
	org, err := r.Engine.Client.Organization.Get(ctx, orgID)
	if err != nil {
		return nil, err
	}
	name := payer.LegalName
	if name == "" {
		name = org.Name
	}
	return &recipient{
		Party: Party{Name: name, RegistrationNumber: payer.BusinessRegistrationNumber, Representative: payer.RepresentativeName,
			Address: payer.Address, Email: payer.BillingEmail},
		account: payer, method: method, lang: locale.Of(payer),
	}, nil
}

// language is the link's language, else the payer's.
func language(asked locale.Lang, rec *recipient) locale.Lang {
	if asked != "" {
		return asked
	}
	return rec.lang
}
