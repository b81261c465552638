package accounts_test

import (
	"testing"

	"github.com/cloudbill/cloudbill/billing/accounts"
)

// The country domain is ISO 3166-1 alpha-2 as it stands: 249 codes, none
// withdrawn, reserved or private use.
func TestCountryDomainIsISO3166(t *testing.T) {
	if n := accounts.CountryCount(); n != 249 {
		t.Errorf("%d country codes; ISO 3166-1 has 249", n)
	}
	for _, c := range []string{"KR", "GB", "AQ", "SS", "BQ", "CW", "SX", "TL", "PS", "AX"} {
		if !accounts.ValidCountry(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"XX", "ZZ", "AA", "QO", "XK", "EU", "UN", "EZ", "UK", "AC", "IC", "AN", "CS", "NT", "SU", "YU", "DD", "kr", "KOR", "410", ""} {
		if accounts.ValidCountry(c) {
			t.Errorf("%s accepted", c)
		}
	}
}

// A currency is ISO 4217 and one the platform bills in.
func TestCurrencyDomain(t *testing.T) {
	for _, c := range []string{"KRW", "USD", "JPY", "EUR"} {
		if !accounts.ValidCurrency(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"XXX", "XTS", "XAU", "ABC", "krw", "GBP", ""} {
		if accounts.ValidCurrency(c) {
			t.Errorf("%s accepted", c)
		}
	}
}

func TestBankCodes(t *testing.T) {
	for c, ok := range map[string]bool{"004": true, "088": true, "090": true, "999": false, "4": false, "0040": false} {
		if accounts.ValidBankCode(c) != ok {
			t.Errorf("%s: want %v", c, ok)
		}
	}
}
