package kernel

import (
	"crypto/rand"
	"math/big"
	"time"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/paymentmethod"
)

// What every domain that takes or gives back money writes of a payment:
// its receipt number and the label of its method.

// NewReceiptID makes a receipt number: R-YYYYMMDD-XXXXXXXX.
func NewReceiptID(at time.Time) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 8)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	return "R-" + at.UTC().Format("20060102") + "-" + string(b)
}

// Label names a method for receipts and history: "VISA •••• 4242".
func Label(m *ent.PaymentMethod) string {
	switch m.Type {
	case paymentmethod.TypeCARD:
		return m.Brand + " •••• " + m.Last4
	case paymentmethod.TypeBANK_TRANSFER:
		return "Bank " + m.BankCode + " •••• " + m.Last4
	}
	return "Virtual account " + m.BankCode + " •••• " + m.Last4
}
