// Package accounts owns who is who: organizations' accounts and billing
// groups, members and their invitations, API tokens, verified phone
// numbers, the business profile and the value domains an account's fields
// draw from (countries, banks). Service holds the use cases that write.
package accounts
