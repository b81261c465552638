package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// gatewayWebhook receives the payment gateway's signed notifications: a
// deposit into a virtual account pays the organization's invoices.
// A repeated notification (same deposit id) changes nothing.
func (a *App) gatewayWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if !a.sandbox.VerifyNotification(body, r.Header.Get("X-Gateway-Signature")) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var n struct {
		Type           string `json:"type"`
		VirtualAccount string `json:"virtualAccount"`
		Amount         string `json:"amount"`
		DepositID      string `json:"depositId"`
	}
	if err := json.Unmarshal(body, &n); err != nil || n.Type != "deposit" {
		http.Error(w, "unsupported notification", http.StatusBadRequest)
		return
	}
	amount, err := strconv.ParseInt(n.Amount, 10, 64)
	if err != nil || amount <= 0 {
		http.Error(w, "bad amount", http.StatusBadRequest)
		return
	}
	p, err := a.Engine().Payments().Deposit(r.Context(), n.VirtualAccount, n.DepositID, amount)
	if err != nil {
		a.Log.Warn("deposit notification refused", "err", err)
		http.Error(w, "deposit refused", http.StatusUnprocessableEntity)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"paymentId": p.ID, "status": string(p.Status)})
}
