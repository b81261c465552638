package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/topics"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
)

// Phone verification. SMS notices go only to a number the account
// proved it holds: requestPhoneVerification texts a six-digit code to the
// number, confirmPhoneVerification with that code makes it the account's
// verified number. Until then the previous verified number (if any) keeps
// receiving notices. A code lives PhoneCodeTTL, takes PhoneCodeAttempts
// guesses, and a new one can be asked for every PhoneCodeResend; only its
// hash is stored on the account (the outbox keeps the text until the SMS
// is delivered, as it keeps every message).
const (
	PhoneCodeTTL      = 10 * time.Minute
	PhoneCodeAttempts = 5
	PhoneCodeResend   = time.Minute
)

// NormalizePhone reads a mobile number — Korean (010-1234-5678) or
// international in E.164 (+14155550123) — as E.164, or refuses it.
func NormalizePhone(s string) (string, error) {
	if len(s) > 32 {
		return "", kernel.FieldError("phoneNumber", "a phone number has at most 15 digits")
	}
	var digits strings.Builder
	plus := false
	for i, c := range strings.TrimSpace(s) {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case c == '+' && i == 0:
			plus = true
		case c == '-' || c == ' ' || c == '(' || c == ')':
		default:
			return "", kernel.FieldError("phoneNumber", "a phone number has digits, spaces, dashes and a leading + only")
		}
	}
	d := digits.String()
	if !plus {
		// A domestic mobile number: 010, 011, 016–019, 10 or 11 digits.
		if (len(d) != 10 && len(d) != 11) || !strings.HasPrefix(d, "01") || strings.ContainsRune("2345", rune(d[2])) {
			return "", kernel.FieldError("phoneNumber", "give a Korean mobile number (010-1234-5678) or an international one starting with +")
		}
		return "+82" + d[1:], nil
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", kernel.FieldError("phoneNumber", "an international number is + and 8 to 15 digits (E.164)")
	}
	return "+" + d, nil
}

func phoneCodeHash(accountID, number, code string) string {
	h := sha256.Sum256([]byte(accountID + "\x00" + number + "\x00" + code))
	return hex.EncodeToString(h[:])
}

// RequestPhoneVerification texts a new code to number for account a and
// answers the number as stored (E.164) and when the code expires.
func (e *Service) RequestPhoneVerification(ctx context.Context, a *ent.Account, number string) (string, time.Time, error) {
	number, err := NormalizePhone(number)
	if err != nil {
		return "", time.Time{}, err
	}
	now := e.Clock.Now()
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", time.Time{}, err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	err = kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		// The guarded update is the throttle: two requests racing within a
		// minute send one code.
		k, err := tx.Account.Update().Where(account.ID(a.ID), account.Or(account.PhoneCodeSentAtIsNil(),
			account.PhoneCodeSentAtLTE(now.Add(-PhoneCodeResend)))).
			SetPendingPhoneNumber(number).SetPhoneCodeHash(phoneCodeHash(a.ID, number, code)).
			SetPhoneCodeSentAt(now).SetPhoneCodeAttempts(0).Save(ctx)
		if err != nil {
			return err
		}
		if k == 0 {
			wait := PhoneCodeResend
			if cur, err := tx.Account.Get(ctx, a.ID); err == nil && cur.PhoneCodeSentAt != nil {
				wait = cur.PhoneCodeSentAt.Add(PhoneCodeResend).Sub(now)
			}
			return kernel.Throttled(max(wait, time.Second), "a code was sent less than a minute ago; wait before asking for another")
		}
		body, err := json.Marshal(map[string]any{"code": code, "minutes": int(PhoneCodeTTL / time.Minute)})
		if err != nil {
			return err
		}
		return tx.OutboxEvent.Create().SetOrgID(a.OrgID).SetTopic(topics.PhoneVerification).SetChannel(topics.ChannelSMS).
			SetRecipient(number).SetLanguage(topics.LanguageOf(a)).SetPayload(body).Exec(ctx)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return number, now.Add(PhoneCodeTTL), nil
}

// ConfirmPhoneVerification makes the pending number a's verified phone if
// code is the one sent to it, still valid and within its guesses.
func (e *Service) ConfirmPhoneVerification(ctx context.Context, a *ent.Account, code string) (*ent.Account, error) {
	if len(code) > 16 {
		return nil, kernel.FieldError("code", "the code has 6 digits")
	}
	now := e.Clock.Now()
	var out *ent.Account
	err := kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		// Counting the guess before comparing: racing guesses each spend one.
		k, err := tx.Account.Update().Where(account.ID(a.ID), account.PendingPhoneNumberNEQ(""),
			account.PhoneCodeSentAtGT(now.Add(-PhoneCodeTTL)), account.PhoneCodeAttemptsLT(PhoneCodeAttempts)).
			AddPhoneCodeAttempts(1).Save(ctx)
		if err != nil {
			return err
		}
		if k == 0 {
			return kernel.Errorf(kernel.CodeConflict, "no valid code is pending: ask for a new one (requestPhoneVerification)")
		}
		cur, err := tx.Account.Get(ctx, a.ID)
		if err != nil {
			return err
		}
		want := phoneCodeHash(a.ID, cur.PendingPhoneNumber, strings.TrimSpace(code))
		if subtle.ConstantTimeCompare([]byte(want), []byte(cur.PhoneCodeHash)) != 1 {
			out = nil
			return nil // the spent guess is kept; the error comes after the commit
		}
		out, err = cur.Update().SetPhoneNumber(cur.PendingPhoneNumber).SetPhoneVerifiedAt(now).
			SetPendingPhoneNumber("").SetPhoneCodeHash("").SetPhoneCodeAttempts(0).Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, kernel.FieldError("code", "this is not the code sent; %d guesses per code", PhoneCodeAttempts)
	}
	return out, nil
}
