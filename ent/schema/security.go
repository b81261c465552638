package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuthThrottle counts the attempts of one key — an account's email at
// login, a client address at login or at sign-up — and holds it back with
// growing delays once there are too many (auth.Throttle). In the database
// so that every replica counts the same attempts. Keys are hashed: the table
// holds no email addresses.
type AuthThrottle struct{ ent.Schema }

func (AuthThrottle) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "thr"}}
}

func (AuthThrottle) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").Immutable().NotEmpty().MaxLen(100),
		// Attempts counted since the key was last quiet or reset.
		field.Int("attempts").Default(0),
		// The last counted attempt: a key quiet long enough starts over.
		field.Time("last_at"),
		// No attempt is taken before this instant.
		field.Time("locked_until").Optional().Nillable(),
	}
}

func (AuthThrottle) Indexes() []ent.Index {
	return []ent.Index{index.Fields("key").Unique(), index.Fields("last_at")}
}

func (AuthThrottle) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Invitation asks the owner of an email to join an organization as a
// member. Nothing moves until the invitee, signed in with that email,
// accepts it with the signed token (auth.TypeInvitation) before it expires;
// an accepted invitation is spent.
type Invitation struct{ ent.Schema }

func (Invitation) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "invt"}, TenantMixin{Revision: OutsideRevision("invitations: read on the primary"), NoOrgIndex: true} /* (org_id, email) */, TimeMixin{}}
}

func (Invitation) Fields() []ent.Field {
	return []ent.Field{
		// The invitee's login email, normalised.
		field.String("email").Immutable().NotEmpty().MaxLen(254),
		field.String("invited_by").Immutable(),
		field.Time("expires_at").Immutable(),
		field.Time("accepted_at").Optional().Nillable(),
		// The account that accepted it.
		field.String("account_id").Optional().Nillable(),
	}
}

func (Invitation) Indexes() []ent.Index {
	return []ent.Index{index.Fields("org_id", "email")}
}

func (Invitation) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
