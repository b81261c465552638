package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Gateway is the seam to a payment company. A real adapter implements it
// against the company's API; SandboxGateway is the default outside
// production. Every charge carries an idempotency key (the payment's id), so
// asking again never charges twice.
type Gateway interface {
	// Card tokenises what the browser SDK returned.
	Card(ctx context.Context, token string) (CardInfo, error)
	// BankAccount verifies an account for automatic transfer.
	BankAccount(ctx context.Context, bankCode, number, holder string) (string, error)
	// Charge takes amount from a method. ErrGatewayTimeout means the outcome
	// is unknown: the payment stays PENDING until Lookup tells.
	Charge(ctx context.Context, key, methodToken string, amount int64, currency string) (ChargeResult, error)
	// Refund pays amount of the charge made with chargeKey back to its
	// method, keyed by key as a charge is. ErrGatewayTimeout: the outcome
	// is unknown until Lookup(key) tells.
	Refund(ctx context.Context, key, chargeKey, methodToken string, amount int64, currency string) (ChargeResult, error)
	// Lookup asks for the outcome of the charge or refund made with key.
	Lookup(ctx context.Context, key, methodToken string) (ChargeResult, error)
	// VirtualAccount opens a dedicated deposit account: its bank,
	// number and the holder name the depositor's bank shows.
	VirtualAccount(ctx context.Context, accountID string) (bank, number, holder string, err error)
}

// CardInfo is what a gateway tells of a tokenised card.
type CardInfo struct {
	Token, Brand, Last4 string
	ThreeDSecure        bool
}

// ChargeResult is a charge's outcome.
type ChargeResult struct {
	Succeeded bool
	Reason    string // why it failed: card expired, limit exceeded…
}

// ErrGatewayTimeout: the gateway did not answer.
var ErrGatewayTimeout = errors.New("payment gateway timed out")

// ErrUnknownToken: the gateway does not know the card token.
var ErrUnknownToken = errors.New("unknown card token")

// SandboxGateway behaves like a payment company for the test tokens of
// docs/api.md ("The sandbox payment gateway"). It is deterministic and keeps no state — an outcome follows from
// the token alone — so every replica answers the same and a lookup after a
// restart still finds what a timed-out charge did.
type SandboxGateway struct {
	// Secret signs deposit notifications (POST /webhooks/gateway).
	Secret []byte
}

var sandboxCards = map[string]CardInfo{
	"tok_visa":                {Brand: "VISA", Last4: "4242", ThreeDSecure: true},
	"tok_mastercard":          {Brand: "MASTERCARD", Last4: "4444", ThreeDSecure: true},
	"tok_jcb":                 {Brand: "JCB", Last4: "0505", ThreeDSecure: true},
	"tok_amex":                {Brand: "AMEX", Last4: "8431", ThreeDSecure: true},
	"tok_diners":              {Brand: "DINERS", Last4: "0004", ThreeDSecure: false},
	"tok_visa_declined":       {Brand: "VISA", Last4: "0002", ThreeDSecure: true},
	"tok_visa_limit_exceeded": {Brand: "VISA", Last4: "9995", ThreeDSecure: true},
	"tok_visa_expired":        {Brand: "VISA", Last4: "0069", ThreeDSecure: true},
	"tok_visa_timeout":        {Brand: "VISA", Last4: "0119", ThreeDSecure: true},
	"tok_visa_refund_refused": {Brand: "VISA", Last4: "0341", ThreeDSecure: true},
}

func (s SandboxGateway) Card(_ context.Context, token string) (CardInfo, error) {
	c, ok := sandboxCards[token]
	if !ok {
		return CardInfo{}, ErrUnknownToken
	}
	c.Token = "card:" + token
	return c, nil
}

func (s SandboxGateway) BankAccount(_ context.Context, bankCode, number, holder string) (string, error) {
	return "bank:" + bankCode + ":" + number, nil
}

func (s SandboxGateway) outcome(methodToken string) (ChargeResult, bool) {
	switch {
	case methodToken == "card:tok_visa_declined":
		return ChargeResult{Reason: "card declined"}, true
	case methodToken == "card:tok_visa_limit_exceeded":
		return ChargeResult{Reason: "limit exceeded"}, true
	case methodToken == "card:tok_visa_expired":
		return ChargeResult{Reason: "card expired"}, true
	case strings.HasPrefix(methodToken, "bank:") && strings.HasSuffix(methodToken, "9999"):
		return ChargeResult{Reason: "insufficient balance"}, true
	case methodToken == "card:tok_visa_timeout":
		// The charge goes through but its answer is lost.
		return ChargeResult{Succeeded: true}, false
	}
	return ChargeResult{Succeeded: true}, true
}

func (s SandboxGateway) Charge(_ context.Context, key, methodToken string, amount int64, currency string) (ChargeResult, error) {
	if amount <= 0 {
		return ChargeResult{}, fmt.Errorf("sandbox: amount must be positive")
	}
	r, answered := s.outcome(methodToken)
	if !answered {
		return ChargeResult{}, ErrGatewayTimeout
	}
	return r, nil
}

// Refund pays back as the card or account charges: a timeout card times
// out, and tok_visa_refund_refused, which pays, has its refunds refused.
func (s SandboxGateway) Refund(_ context.Context, key, chargeKey, methodToken string, amount int64, currency string) (ChargeResult, error) {
	if amount <= 0 || chargeKey == "" {
		return ChargeResult{}, fmt.Errorf("sandbox: a refund needs a positive amount and the charge it refunds")
	}
	if methodToken == "card:tok_visa_refund_refused" {
		return ChargeResult{Reason: "refund refused by the issuer"}, nil
	}
	r, answered := s.outcome(methodToken)
	if !answered {
		return ChargeResult{}, ErrGatewayTimeout
	}
	return r, nil
}

func (s SandboxGateway) Lookup(_ context.Context, key, methodToken string) (ChargeResult, error) {
	r, _ := s.outcome(methodToken)
	return r, nil
}

// SandboxHolder is the holder name of the sandbox's virtual accounts: a
// Korean virtual account is held by the merchant (the gateway's sub-account
// for it), not by the customer.
const SandboxHolder = "cloudbill"

func (s SandboxGateway) VirtualAccount(_ context.Context, accountID string) (string, string, string, error) {
	sum := sha256.Sum256([]byte(accountID))
	return "088", "5620" + fmt.Sprintf("%010d", int64(sum[0])<<24|int64(sum[1])<<16|int64(sum[2])<<8|int64(sum[3])), SandboxHolder, nil
}

// SignNotification signs a gateway notification body (HMAC-SHA256, hex).
func (s SandboxGateway) SignNotification(body []byte) string {
	mac := hmac.New(sha256.New, s.Secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyNotification checks a notification's signature in constant time.
func (s SandboxGateway) VerifyNotification(body []byte, sig string) bool {
	want := s.SignNotification(body)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(sig)))
}
