package kernel

import (
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/invoice"
)

// PaymentAmount is what an invoice asks to be paid in all: determined
// amount + tax + late fees − coins.
func PaymentAmount(inv *ent.Invoice) int64 {
	return inv.DeterminedAmount + inv.TaxAmount + inv.LateFeeAmount - inv.CoinAmount
}

// AmountDue is what is still unpaid of an invoice.
func AmountDue(inv *ent.Invoice) int64 {
	if inv.Status == invoice.StatusVOID { // withdrawn: nobody owes it
		return 0
	}
	d := PaymentAmount(inv) - inv.PaidAmount - inv.CreditedAmount // credit notes took that off
	if d < 0 {
		return 0
	}
	return d
}
