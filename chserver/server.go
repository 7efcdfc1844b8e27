// Package chserver runs a private clickhouse-server child process: the
// embedded database of `usagelens serve` without a DSN, and the test
// harness's server when no other is given.
package chserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// InstallHint tells a user how to get a server binary on Debian.
const InstallHint = "apt-get update && apt-get install -y clickhouse-server clickhouse-client"

// Server is a running clickhouse-server child process.
type Server struct {
	Dir      string
	TCPPort  int
	HTTPPort int

	bin []string
	// extra is config inside <yandex> beyond the defaults, profile
	// settings of the default user's profile beyond the defaults.
	extra, profile string
	mu             sync.Mutex // guards cmd, done and err across restarts
	cmd            *exec.Cmd
	done           chan struct{}
	err            error
	stopping       atomic.Bool
}

// FindBinary returns the command that starts a server: clickhouse-server,
// or the single `clickhouse` binary of newer releases with `server`.
func FindBinary() ([]string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "server"}, nil
	}
	return nil, fmt.Errorf("no clickhouse-server or clickhouse binary on PATH; install one with: %s", InstallHint)
}

// Start writes a config under dir, starts the server on free loopback ports
// and waits until it answers queries. The child dies with this process
// (Pdeathsig), so a crashed parent leaves no server behind.
func Start(ctx context.Context, dir string) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	return startOn(ctx, dir, ports[0], ports[1], "", "")
}

// StartCluster starts n servers, in dir/node1 … dir/nodeN, that each know
// the cluster name: n shards of one replica, in that order. Their profile
// has what a cluster database needs (distributed_product_mode = local).
func StartCluster(ctx context.Context, dir, name string, n int) ([]*Server, error) {
	weights := make([]int, n)
	for i := range weights {
		weights[i] = 1
	}
	return StartWeightedCluster(ctx, dir, name, weights)
}

// StartWeightedCluster is StartCluster with a shard of each weight.
func StartWeightedCluster(ctx context.Context, dir, name string, weights []int) ([]*Server, error) {
	n := len(weights)
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var shards strings.Builder
	for i, w := range weights {
		fmt.Fprintf(&shards, "<shard><weight>%d</weight><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", w, ports[2*i])
	}
	extra := "  <remote_servers><" + name + ">" + shards.String() + "</" + name + "></remote_servers>\n"
	var nodes []*Server
	for i := range n {
		s, err := startOn(ctx, filepath.Join(dir, fmt.Sprintf("node%d", i+1)), ports[2*i], ports[2*i+1], extra, ClusterProfile)
		if err != nil {
			for _, s := range nodes {
				_ = s.Stop()
			}
			return nil, err
		}
		nodes = append(nodes, s)
	}
	return nodes, nil
}

// ClusterProfile is the profile setting every node of a cluster that
// serves usagelens needs: old servers take only numbers as settings
// from a client, so it cannot be sent with each query.
const ClusterProfile = "<distributed_product_mode>local</distributed_product_mode>"

func startOn(ctx context.Context, dir string, tcp, http int, extra, profile string) (*Server, error) {
	bin, err := FindBinary()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %w", dir, err)
	}
	s := &Server{Dir: dir, TCPPort: tcp, HTTPPort: http, bin: bin, extra: extra, profile: profile}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	// Checked before the config is written: a server that holds the
	// directory must not have its config rewritten under it.
	if s.statusLocked() {
		return nil, s.lockedError()
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// DSN is the native-protocol address of the server's default database.
func (s *Server) DSN() string {
	return fmt.Sprintf("clickhouse://default:@127.0.0.1:%d/default", s.TCPPort)
}

// HTTPURL is the base URL of the server's HTTP interface.
func (s *Server) HTTPURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/", s.HTTPPort)
}

// Supervise restarts the server, on the same ports and data, whenever it
// exits without Stop having been called, until ctx ends. logf reports each
// restart.
func (s *Server) Supervise(ctx context.Context, logf func(format string, args ...any)) {
	for {
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-done:
		}
		if s.stopping.Load() {
			return
		}
		logf("clickhouse-server exited (%v); restarting", s.exitErr())
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if err := s.start(); err != nil {
			logf("cannot restart clickhouse-server: %v", err)
			return
		}
	}
}

// PID is the process id of the running server, or 0 before it started.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Stop asks the server to shut down and kills it if it has not within 30s.
func (s *Server) Stop() error {
	s.stopping.Store(true)
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return nil
}

// Kill stops the process abruptly, as a crash would; tests use it.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Pause stops the process without ending it (SIGSTOP), as a hung server
// would; Kill still ends it. Tests use it.
func (s *Server) Pause() {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGSTOP)
}

// Restart starts a server that Stop or Kill ended, on the same ports and
// data, and waits until it answers queries. Tests use it to take the
// database away and bring it back. It is not for a server under
// Supervise, which restarts a killed server itself and ends after Stop.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	select {
	case <-done:
	default:
		return fmt.Errorf("clickhouse-server in %s is still running", s.Dir)
	}
	s.stopping.Store(false)
	if err := s.start(); err != nil {
		return err
	}
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		_ = s.Stop()
		return err
	}
	return nil
}

func (s *Server) start() error {
	bin := s.bin
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return fmt.Errorf("cannot create %s: %w", filepath.Join(s.Dir, d), err)
		}
	}
	args := append(bin[1:], "--config-file="+s.configPath())
	cmd := exec.Command(bin[0], args...)
	cmd.Dir = s.Dir
	out, err := os.Create(filepath.Join(s.Dir, "log", "stdout.log"))
	if err != nil {
		return fmt.Errorf("cannot create server stdout log: %w", err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("cannot start %s: %w", bin[0], err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done, s.err = cmd, done, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		out.Close()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(done)
	}()
	return nil
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	opts, err := clickhouse.ParseDSN(s.DSN())
	if err != nil {
		return err
	}
	opts.DialTimeout = time.Second
	for {
		conn, err := clickhouse.Open(opts)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close()
			if err == nil {
				return nil
			}
		}
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		select {
		case <-done:
			// Another server took the directory after Start checked it;
			// the live lock says so, where err.log may hold old lines.
			if s.statusLocked() {
				return s.lockedError()
			}
			return fmt.Errorf("clickhouse-server exited before it was ready (%v); its log: %s", s.exitErr(), s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("clickhouse-server in %s not ready after %s: %v; its log: %s", s.Dir, limit, err, s.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) logTail() string {
	var parts []string
	for _, name := range []string{"stdout.log", "err.log"} {
		b, _ := os.ReadFile(filepath.Join(s.Dir, "log", name))
		if len(b) > 2000 {
			b = b[len(b)-2000:]
		}
		if len(b) > 0 {
			parts = append(parts, strings.TrimSpace(string(b)))
		}
	}
	return strings.Join(parts, " | ")
}

func (s *Server) configPath() string { return filepath.Join(s.Dir, "config.xml") }

// writeConfig writes a self-contained config: loopback only, two ports, all
// paths under Dir, the default user without a password, and system.query_log
// (queries are logged when a query asks for it with log_queries). The <yandex>
// root is read by 18.16 and by current releases alike.
func (s *Server) writeConfig() error {
	p := func(sub string) string { return filepath.Join(s.Dir, sub) + "/" }
	cfg := `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>` + p("log") + `server.log</log><errorlog>` + p("log") + `err.log</errorlog><size>100M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>` + strconv.Itoa(s.TCPPort) + `</tcp_port>
  <http_port>` + strconv.Itoa(s.HTTPPort) + `</http_port>
  <path>` + p("data") + `</path>
  <tmp_path>` + p("tmp") + `</tmp_path>
  <user_files_path>` + p("user_files") + `</user_files_path>
  <format_schema_path>` + p("format_schemas") + `</format_schema_path>
  <mark_cache_size>536870912</mark_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>7500</flush_interval_milliseconds></query_log>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage>` + s.profile + `</default></profiles>
  <quotas><default></default></quotas>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
` + s.extra + `</yandex>
`
	if err := os.WriteFile(s.configPath(), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", s.configPath(), err)
	}
	return nil
}

// freePorts reserves n distinct loopback ports by listening on port 0. They
// are released before the server binds them; a collision in that window
// makes Start fail with the server's log, not silently.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cannot reserve a loopback port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
