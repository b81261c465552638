package billing_test

import (
	"os"
	"testing"

	"github.com/cloudbill/cloudbill/server/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
