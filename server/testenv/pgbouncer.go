package testenv

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PgBouncer is a PgBouncer in transaction pooling mode in front of the
// throwaway cluster, started once per test binary.
type PgBouncer struct{ port int }

var (
	bouncerOnce sync.Once
	bouncerSrv  *PgBouncer
	bouncerErr  error
	bouncerSkip string
	// startBouncerFn starts PgBouncer before the throwaway cluster; nil
	// with DATABASE_URL.
	startBouncerFn func() (*PgBouncer, error)
)

// StartedPgBouncer returns the PgBouncer in front of the throwaway cluster,
// starting it on first use. It skips with a message where pgbouncer is not
// installed (Debian: apt-get install pgbouncer) — unless
// CLOUDBILL_REQUIRE_POSTGRES=1, when it fails, as for PostgreSQL.
func StartedPgBouncer(t testing.TB) *PgBouncer {
	t.Helper()
	PostgresURL(t)
	if startBouncerFn == nil {
		t.Skip("DATABASE_URL is set: no PgBouncer in front of a server this harness does not own")
	}
	bouncerOnce.Do(func() {
		if _, err := findPgBouncer(); err != nil {
			bouncerSkip = err.Error()
			return
		}
		bouncerSrv, bouncerErr = startBouncerFn()
	})
	if bouncerSkip != "" {
		if os.Getenv("CLOUDBILL_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PgBouncer is required (CLOUDBILL_REQUIRE_POSTGRES=1) but unavailable: %s", bouncerSkip)
		}
		t.Skipf("skipping PgBouncer test: %s", bouncerSkip)
	}
	if bouncerErr != nil {
		t.Fatalf("starting PgBouncer: %v", bouncerErr)
	}
	return bouncerSrv
}

// URL is the database at primaryURL reached through PgBouncer.
func (b *PgBouncer) URL(primaryURL string) string {
	u, err := url.Parse(primaryURL)
	if err != nil {
		panic(err)
	}
	u.Host = "127.0.0.1:" + strconv.Itoa(b.port)
	return u.String()
}

func findPgBouncer() (string, error) {
	for _, p := range []string{"pgbouncer", "/usr/sbin/pgbouncer"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("no pgbouncer on PATH or in /usr/sbin; install it (Debian: apt-get install pgbouncer)")
}

// bouncerStarter starts PgBouncer (as the unprivileged user when root: it
// refuses to run as root) in dir, in front of the server on primaryPort.
// The configuration is what cloudbill needs behind a transaction pooler:
// lib/pq's extra_float_digits and the options startup parameters are
// ignored (set statement_timeout on the role instead).
func bouncerStarter(dir string, primaryPort int, cred *syscall.Credential) func() (*PgBouncer, error) {
	return func() (*PgBouncer, error) {
		bin, err := findPgBouncer()
		if err != nil {
			return nil, err
		}
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		conf := filepath.Join(dir, "pgbouncer.ini")
		users := filepath.Join(dir, "pgbouncer-users.txt")
		ini := fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=%d
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
logfile = %s
pidfile = %s
`, primaryPort, port, users, filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
		for name, content := range map[string]string{conf: ini, users: `"postgres" ""` + "\n"} {
			if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
				return nil, err
			}
		}
		cmd := exec.Command(bin, conf)
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		stopFns = append(stopFns, func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() })
		// Ready once it accepts connections (a state, not a speed).
		for deadline := time.Now().Add(time.Minute); ; {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
				return nil, fmt.Errorf("pgbouncer does not accept connections: %w\n%s", err, log)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return &PgBouncer{port: port}, nil
	}
}
