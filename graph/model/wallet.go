package model

// CoinWallet is an account's coins; its fields resolve from these values.
type CoinWallet struct {
	AccountID    string
	Currency     string
	ChargedMinor int64
	BonusMinor   int64
}
