package accounts

import (
	"github.com/cloudbill/cloudbill/billing/kernel"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"
)

// Every code an input takes has a domain it is checked against (issue 14):
// countries are ISO 3166-1 alpha-2 (here), currencies ISO 4217 and billed
// by the platform (here), bank codes the KFTC's (here), catalog codes and
// metrics lower-case slugs (CheckCode) of the catalog, coupon codes
// couponCodeRe, API token scopes auth.Scopes, enums their GraphQL enum.

// countries is ISO 3166-1 alpha-2 as the CLDR data of golang.org/x/text
// has it: its regions that are countries, in canonical form (UK is GB),
// with a UN M.49 number (which leaves out the exceptional reservations —
// EU, UN, AC, IC…) and not private use (XA…XZ, QM…QZ, AA, ZZ). CLDR still
// lists five codes ISO 3166-1 withdrew (formerly used, ISO 3166-3); they
// are left out by name.
var countries = func() map[string]bool {
	withdrawn := map[string]bool{"AN": true, "CS": true, "NT": true, "SU": true, "YU": true}
	out := map[string]bool{}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err == nil && r.IsCountry() && r.String() == code && r.Canonicalize() == r &&
				!r.IsPrivateUse() && r.M49() != 0 && !withdrawn[code] {
				out[code] = true
			}
		}
	}
	return out
}()

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 country code,
// in capitals.
func ValidCountry(code string) bool { return countries[code] }

// CountryCount is how many codes ValidCountry accepts (ISO 3166-1 has 249).
func CountryCount() int { return len(countries) }

// ValidCurrency reports whether code is an ISO 4217 currency the platform
// bills in (one with known minor units).
func ValidCurrency(code string) bool {
	u, err := currency.ParseISO(code)
	_, billed := kernel.CurrencyDigits[code]
	return err == nil && u.String() == code && billed
}

// bankCodes are the KFTC (금융결제원) codes of the banks whose accounts
// take automatic transfers (CMS): a bank account's bankCode must be one.
// No maintained Go library publishes them; the list follows the KFTC's
// standard institution codes.
var bankCodes = map[string]string{
	"002": "KDB Korea Development Bank", "003": "IBK Industrial Bank of Korea", "004": "KB Kookmin Bank",
	"007": "Suhyup Bank", "011": "NH NongHyup Bank", "012": "NongHyup (local cooperatives)",
	"020": "Woori Bank", "023": "SC First Bank", "027": "Citibank Korea", "031": "iM Bank (Daegu)",
	"032": "Busan Bank", "034": "Kwangju Bank", "035": "Jeju Bank", "037": "Jeonbuk Bank",
	"039": "Kyongnam Bank", "045": "MG Community Credit Cooperatives", "048": "Shinhyup Credit Union",
	"050": "Savings banks", "054": "HSBC", "055": "Deutsche Bank", "057": "JPMorgan Chase",
	"060": "Bank of America", "062": "ICBC", "064": "Korea Forestry Cooperatives", "071": "Korea Post",
	"081": "Hana Bank", "088": "Shinhan Bank", "089": "K Bank", "090": "Kakao Bank", "092": "Toss Bank",
}

// ValidBankCode reports whether code is the KFTC code of a bank that
// takes automatic transfers.
func ValidBankCode(code string) bool { _, ok := bankCodes[code]; return ok }
