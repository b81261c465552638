package testenv_test

import (
	"bufio"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/cloudbill/cloudbill/server/testenv"
)

// ownerEnv makes this test binary the owner of a cluster instead of a
// test run: it starts one, prints its data directory and address, and
// waits to be killed.
const ownerEnv = "CLOUDBILL_TESTENV_OWNER"

func TestMain(m *testing.M) {
	if os.Getenv(ownerEnv) == "1" {
		own()
	}
	os.Exit(testenv.Main(m))
}

func own() {
	admin, _, err := testenv.StartCluster()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	db, err := sql.Open("postgres", admin)
	var data string
	if err == nil {
		err = db.QueryRow("SHOW data_directory").Scan(&data)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	u, _ := url.Parse(admin)
	fmt.Println(data) // a line each: a temporary directory may hold spaces
	fmt.Println(u.Host)
	time.Sleep(time.Minute)
	os.Exit(0)
}

// A throwaway cluster ends with the process that started it, however that
// process ends: killed outright (SIGKILL, where no cleanup can run — as a
// test timeout's panic or an interrupted run), its cluster stops and its
// directory goes within seconds. Before the watchdog, every interrupted run
// left a PostgreSQL running for good.
func TestThrowawayClusterEndsWithItsOwner(t *testing.T) {
	if os.Getenv("DATABASE_URL") != "" {
		t.Skip("DATABASE_URL is set: the tests start no cluster of their own")
	}
	testenv.PostgresURL(t) // skips without PostgreSQL (fails under CLOUDBILL_REQUIRE_POSTGRES=1)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ownerEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) // when a check below fails first
	r := bufio.NewReader(out)
	data, err := r.ReadString('\n')
	if err != nil || strings.HasPrefix(data, "error:") {
		t.Fatalf("owner: %q %v", data, err)
	}
	addr, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("owner: %q %v", addr, err)
	}
	data, addr = strings.TrimSuffix(data, "\n"), strings.TrimSuffix(addr, "\n")
	dir := filepath.Dir(data)
	if c, err := net.Dial("tcp", addr); err != nil {
		t.Fatalf("the owner's cluster does not accept connections: %v", err)
	} else {
		c.Close()
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // reaped: an owner gone, not a zombie
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, statErr := os.Stat(dir)
		c, dialErr := net.Dial("tcp", addr)
		if c != nil {
			c.Close()
		}
		if os.IsNotExist(statErr) && dialErr != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after its owner was killed: directory %s (%v), %s accepting connections: %v", dir, statErr, addr, dialErr == nil)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
