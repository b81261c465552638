package main

import (
	"fmt"

	"github.com/cloudbill/cloudbill/server/testenv"
)

var (
	// withReplica (-replica, LOADTEST_REPLICA=1): the servers read from a
	// streaming replica, started after the data set is loaded.
	withReplica bool
	replicaEnv  []string
)

// startReplica starts a streaming replica of the throwaway cluster, waits
// until it has replayed the data set and points the servers at it.
func startReplica(dbURL string) error {
	rep, err := testenv.StartReplica()
	if err != nil {
		return fmt.Errorf("starting a replica: %w", err)
	}
	if err := rep.WaitCaughtUp(); err != nil {
		return err
	}
	fmt.Println("reads from a streaming replica:", rep.URL(dbURL))
	replicaEnv = []string{"CLOUDBILL_DATABASE_REPLICA_URL=" + rep.URL(dbURL)}
	return nil
}
