package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"sort"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/auththrottle"
)

// ThrottleRule says how one kind of key is held back: Free attempts pass
// at once; from then on each attempt locks the key for a delay that starts
// at First and doubles with every further attempt, up to Max. A key with no
// attempt for Forget starts over.
type ThrottleRule struct {
	Free       int
	First, Max time.Duration
	Forget     time.Duration
	Refusal    string // the THROTTLED message
}

// delay is how long a key stays locked after its n-th counted attempt.
func (r ThrottleRule) delay(n int) time.Duration {
	if n < r.Free {
		return 0
	}
	d := r.First
	for i := r.Free; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

// The rules (README, Security). Failed logins are counted per account (its
// normalised email, whether or not an account has it) and per client
// address; sign-ups — successful or not — per client address.
var (
	LoginAccountRule = ThrottleRule{Free: 5, First: time.Minute, Max: 30 * time.Minute, Forget: 24 * time.Hour,
		Refusal: "too many failed sign-in attempts; try again later"}
	LoginAddressRule = ThrottleRule{Free: 20, First: time.Minute, Max: time.Hour, Forget: 24 * time.Hour,
		Refusal: "too many failed sign-in attempts; try again later"}
	SignUpAddressRule = ThrottleRule{Free: 5, First: time.Minute, Max: time.Hour, Forget: 24 * time.Hour,
		Refusal: "too many sign-ups from this address; try again later"}
	// Invitations send email to any address: an organization sends 20 at
	// once, then one a minute and slower.
	InvitationRule = ThrottleRule{Free: 20, First: time.Minute, Max: time.Hour, Forget: 24 * time.Hour,
		Refusal: "too many invitations; try again later"}
)

// ThrottleKey is one counter an attempt is taken from.
type ThrottleKey struct {
	Key  string
	Rule ThrottleRule
}

// LoginAccountKey counts failed logins for an email, normalised as the
// login reads it. Hashed: the table keeps no addresses, not even of people
// who have no account.
func LoginAccountKey(email string) ThrottleKey {
	return ThrottleKey{Key: "login:acct:" + digest(email), Rule: LoginAccountRule}
}

// LoginAddressKey counts failed logins from a client address.
func LoginAddressKey(ip string) ThrottleKey {
	return ThrottleKey{Key: "login:ip:" + addressKey(ip), Rule: LoginAddressRule}
}

// InvitationKey counts the invitations an organization sends.
func InvitationKey(orgID string) ThrottleKey {
	return ThrottleKey{Key: "invite:org:" + orgID, Rule: InvitationRule}
}

// SignUpAddressKey counts sign-ups from a client address.
func SignUpAddressKey(ip string) ThrottleKey {
	return ThrottleKey{Key: "signup:ip:" + addressKey(ip), Rule: SignUpAddressRule}
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// addressKey is an IPv4 address, or the /64 network of an IPv6 address
// (one subscriber commonly holds a whole /64).
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return digest(ip)
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Throttle holds attempts back per key, in the database, so that every
// replica counts the same attempts: an attempt is taken (counted) before
// the work it guards, one at a time per key, and a locked key refuses it
// with THROTTLED and the time left (extensions.retryAfterSeconds).
type Throttle struct {
	Client   *ent.Client
	Postgres bool
	Now      func() time.Time
}

// Attempt is an attempt taken from some keys; Reset or Forgive it once its
// outcome is known to be a success.
type Attempt struct {
	t     *Throttle
	taken map[string]taken
}

// taken is what an attempt changed on one key, to undo it.
type taken struct {
	before ent.AuthThrottle
	after  ent.AuthThrottle
}

// Take counts one attempt under each key (a nil Throttle counts nothing), or refuses it — counting nothing
// — while any of them is locked. Keys are taken in one transaction, in a
// fixed order, with their rows locked, so concurrent attempts on any number
// of replicas are counted one after the other.
func (t *Throttle) Take(ctx context.Context, keys ...ThrottleKey) (*Attempt, error) {
	if t == nil {
		return nil, nil
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key })
	// Whole microseconds, as both databases keep instants: Forgive compares
	// what it wrote with what it reads back.
	now := t.Now().Truncate(time.Microsecond)
	a := &Attempt{t: t, taken: map[string]taken{}}
	var wait time.Duration
	var refusal string
	err := kernel.WithTx(ctx, t.Client, func(tx *ent.Tx) error {
		wait, refusal = 0, ""
		rows, err := t.lock(ctx, tx, keys, now)
		if err != nil {
			return err
		}
		for i, k := range keys {
			r := rows[i]
			if now.Sub(r.LastAt) >= k.Rule.Forget {
				r.Attempts, r.LockedUntil = 0, nil // quiet long enough: start over
			}
			if r.LockedUntil != nil && r.LockedUntil.After(now) && r.LockedUntil.Sub(now) > wait {
				wait, refusal = r.LockedUntil.Sub(now), k.Rule.Refusal
			}
		}
		if wait > 0 {
			return nil // refused: nothing counted
		}
		for i, k := range keys {
			before := *rows[i]
			n := before.Attempts + 1
			upd := tx.AuthThrottle.UpdateOneID(before.ID).SetAttempts(n).SetLastAt(now)
			if d := k.Rule.delay(n); d > 0 {
				upd.SetLockedUntil(now.Add(d))
			} else {
				upd.ClearLockedUntil()
			}
			after, err := upd.Save(ctx)
			if err != nil {
				return err
			}
			a.taken[k.Key] = taken{before: before, after: *after}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, kernel.Throttled(wait, "%s", refusal)
	}
	return a, nil
}

// lock returns the keys' rows, created when missing, locked for this
// transaction (PostgreSQL: FOR UPDATE; SQLite: its single writer).
func (t *Throttle) lock(ctx context.Context, tx *ent.Tx, keys []ThrottleKey, now time.Time) ([]*ent.AuthThrottle, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Key
		// A new key's last attempt is "long ago": it starts at zero.
		if err := tx.AuthThrottle.Create().SetKey(k.Key).SetLastAt(time.Unix(0, 0).UTC()).
			OnConflictColumns(auththrottle.FieldKey).Ignore().Exec(ctx); err != nil {
			return nil, err
		}
	}
	q := tx.AuthThrottle.Query().Where(auththrottle.KeyIn(names...)).Order(ent.Asc(auththrottle.FieldKey))
	if t.Postgres {
		q = q.ForUpdate()
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, err
	}
	if len(rows) != len(keys) {
		return nil, kernel.Errorf(kernel.CodeInternal, "throttle rows missing")
	}
	return rows, nil
}

// Reset clears key after a success that proves the attempts were the
// owner's (a correct password): its count starts over.
func (a *Attempt) Reset(ctx context.Context, key ThrottleKey) error {
	if a == nil { // throttles off
		return nil
	}
	if _, ok := a.taken[key.Key]; !ok {
		return nil
	}
	_, err := a.t.Client.AuthThrottle.Update().Where(auththrottle.Key(key.Key)).
		SetAttempts(0).ClearLockedUntil().Save(ctx)
	return err
}

// Forgive takes this attempt back from key (it succeeded, so it was no
// guess), unless later attempts changed the key meanwhile in a way this
// cannot undo exactly: then only the count goes back down.
func (a *Attempt) Forgive(ctx context.Context, key ThrottleKey) error {
	if a == nil { // throttles off
		return nil
	}
	tk, ok := a.taken[key.Key]
	if !ok {
		return nil
	}
	return kernel.WithTx(ctx, a.t.Client, func(tx *ent.Tx) error {
		rows, err := a.t.lock(ctx, tx, []ThrottleKey{key}, a.t.Now())
		if err != nil {
			return err
		}
		r := rows[0]
		upd := tx.AuthThrottle.UpdateOneID(r.ID).SetAttempts(max(r.Attempts-1, 0))
		if sameTime(r.LockedUntil, tk.after.LockedUntil) { // the lock is still the one this attempt set
			if tk.before.LockedUntil == nil {
				upd.ClearLockedUntil()
			} else {
				upd.SetLockedUntil(*tk.before.LockedUntil)
			}
		}
		if r.LastAt.Equal(tk.after.LastAt) {
			upd.SetLastAt(tk.before.LastAt)
		}
		return upd.Exec(ctx)
	})
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// Purge deletes the keys quiet for longer than any rule remembers (a day):
// such a row counts as nothing already, so only the table shrinks.
func (t *Throttle) Purge(ctx context.Context) (int, error) {
	if t == nil {
		return 0, nil
	}
	longest := max(LoginAccountRule.Forget, LoginAddressRule.Forget, SignUpAddressRule.Forget, InvitationRule.Forget)
	return t.Client.AuthThrottle.Delete().Where(auththrottle.LastAtLT(t.Now().Add(-longest))).Exec(ctx)
}
