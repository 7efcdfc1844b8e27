package chserver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// statusPath is the file clickhouse-server holds an exclusive flock on
// while it runs; a second server in the same directory exits with status
// 70 ("Cannot lock file .../status").
func (s *Server) statusPath() string { return filepath.Join(s.Dir, "data", "status") }

// statusLocked says whether a live process holds the lock on the status
// file. The file alone proves nothing: a killed server leaves it behind,
// unlocked, and the next one starts over it.
func (s *Server) statusLocked() bool {
	f, err := os.Open(s.statusPath())
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// lockedError says in one line which process holds the directory and how
// to stop it. When the holder is the child of a usagelens process, that
// parent is the one to stop: it would restart a killed child, and it stops
// its child itself on SIGTERM.
func (s *Server) lockedError() error {
	pid := s.holder()
	if pid == 0 {
		return fmt.Errorf("another clickhouse-server is already running in %s (its status file is locked) and its process was not found; stop it and start again", s.Dir)
	}
	if ppid := parentPID(pid); ppid > 1 && isUsagelens(ppid) {
		return fmt.Errorf("another clickhouse-server (PID %d) is already running in %s, started by usagelens (PID %d: %s); stop that with: kill %d", pid, s.Dir, ppid, cmdline(ppid), ppid)
	}
	return fmt.Errorf("another clickhouse-server (PID %d) is already running in %s, probably left by an earlier run; stop it with: kill %d", pid, s.Dir, pid)
}

// holder is the PID of the server holding Dir: the one its status file
// names if that process runs with this directory's config, else the first
// process whose command line names the config; 0 when none is found.
func (s *Server) holder() int {
	want := []byte("--config-file=" + s.configPath())
	b, _ := os.ReadFile(s.statusPath())
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PID: "); ok {
			if pid, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && bytes.Contains(rawCmdline(pid), want) {
				return pid
			}
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err == nil && pid != os.Getpid() && bytes.Contains(rawCmdline(pid), want) {
			return pid
		}
	}
	return 0
}

func rawCmdline(pid int) []byte {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return b
}

func cmdline(pid int) string {
	return strings.TrimSpace(string(bytes.ReplaceAll(rawCmdline(pid), []byte{0}, []byte{' '})))
}

// StatFields are the fields of /proc/PID/stat after the command name
// (state, ppid, …: field 3 of proc(5) first), or nil. The command name, in
// parentheses, may hold spaces, so fields count from its closing one.
func StatFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

func parentPID(pid int) int {
	f := StatFields(pid)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func isUsagelens(pid int) bool {
	argv0, _, _ := bytes.Cut(rawCmdline(pid), []byte{0})
	return filepath.Base(string(argv0)) == "usagelens"
}
