package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/idempotencykey"
)

// Idempotent runs a money-moving operation at most once per caller and key
// . The key row is inserted first, in the operation's own
// transaction: a concurrent duplicate blocks on the unique index until the
// first commits, then reads its stored result. The same key with another
// input is refused with IDEMPOTENCY_KEY_REUSED. A failed operation stores
// nothing, so it may be retried with the same key.
//
// do returns the result to remember; it is stored as JSON and decoded into
// out on every call (first or replay), so both see the same value. fresh
// tells whether this call ran do (and so owns any follow-up, such as
// charging the gateway) or replayed an earlier result.
func Idempotent(ctx context.Context, client *ent.Client, orgID, caller, key, operation string, input any, out any, do func(tx *ent.Tx) (any, error)) (fresh bool, err error) {
	key = strings.TrimSpace(key)
	if err := CheckIdempotencyKey(key); err != nil {
		return false, err
	}
	raw, err := json.Marshal(withKey(input, key))
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(append([]byte(operation+"\x00"), raw...))
	hash := hex.EncodeToString(sum[:])
	var stored []byte
	err = WithTx(ctx, client, func(tx *ent.Tx) error {
		row, err := tx.IdempotencyKey.Create().SetOrgID(orgOrPlatform(orgID)).SetCaller(caller).SetKey(key).
			SetOperation(operation).SetRequestHash(hash).Save(ctx)
		if IsUniqueViolation(err) {
			return errKeySeen
		}
		if err != nil {
			return err
		}
		res, err := do(tx)
		if err != nil {
			return err
		}
		if stored, err = json.Marshal(res); err != nil {
			return err
		}
		return tx.IdempotencyKey.UpdateOne(row).SetResponse(stored).Exec(ctx)
	})
	if errors.Is(err, errKeySeen) {
		row, err := client.IdempotencyKey.Query().
			Where(idempotencykey.Caller(caller), idempotencykey.Key(key)).Only(ctx)
		if err != nil {
			return false, err
		}
		if row.Operation != operation || row.RequestHash != hash {
			return false, &Error{Code: CodeIdempotencyKeyReused, Field: "idempotencyKey",
				Message: "this idempotency key was used with a different request"}
		}
		stored = row.Response
	} else if err != nil {
		return false, err
	} else {
		fresh = true
	}
	return fresh, json.Unmarshal(stored, out)
}

var errKeySeen = errors.New("idempotency key seen")

// checkIdempotencyKey refuses a key that is empty or longer than 200
// characters once trimmed: a use case checks it before the other inputs.
func CheckIdempotencyKey(key string) error {
	if key = strings.TrimSpace(key); key == "" || len(key) > 200 {
		return FieldError("idempotencyKey", "idempotencyKey must be 1 to 200 characters")
	}
	return nil
}

// withKey is the request as a key compares it: an input carrying its own
// IdempotencyKey field holds it trimmed, as the key is looked up — so "k-1"
// and " k-1 " with the same input are one request, not a reuse. A key
// without spaces leaves the input, and so its stored hash, as it was.
func withKey(input any, key string) any {
	v := reflect.ValueOf(input)
	if v.Kind() != reflect.Struct {
		return input
	}
	f := v.FieldByName("IdempotencyKey")
	if !f.IsValid() || f.Kind() != reflect.String || f.String() == key {
		return input
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	c.FieldByName("IdempotencyKey").SetString(key)
	return c.Interface()
}

func orgOrPlatform(orgID string) string {
	if orgID == "" {
		return "platform"
	}
	return orgID
}

// Request is one call of a money-moving use case: who asks, under which
// idempotency key, and the input the key is bound to (an input sent again
// under the same key must be the same, or it is refused with
// IDEMPOTENCY_KEY_REUSED). A Request without a Caller is an internal call
// (the demo seed, an operator call that gave no key): it runs once, now,
// with no key to remember it by. A caller with an empty key is refused.
type Request struct {
	Caller string
	Key    string
	Input  any
}

// Once runs reserve at most once for req and answers its result and
// whether this call ran it (and so owns any follow-up, such as charging).
func Once[T any](ctx context.Context, client *ent.Client, req Request, orgID, operation string, reserve func(tx *ent.Tx) (T, error)) (T, bool, error) {
	var out T
	if req.Caller == "" {
		err := WithTx(ctx, client, func(tx *ent.Tx) error {
			var err error
			out, err = reserve(tx)
			return err
		})
		return out, err == nil, err
	}
	fresh, err := Idempotent(ctx, client, orgID, req.Caller, req.Key, operation, req.Input, &out,
		func(tx *ent.Tx) (any, error) { return reserve(tx) })
	return out, fresh, err
}
