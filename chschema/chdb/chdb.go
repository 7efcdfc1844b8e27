// Package chdb runs SQL on current ClickHouse in-process, through the chDB
// library (libchdb.so, loaded at run time with purego, no cgo). The tests
// use it to compare every statement usagelens sends with ClickHouse 18.16;
// the served binary never loads it.
package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Version is the chDB release scripts/ensure-chdb.sh fetches; its engine
// reports version() 26.7.2.1.
const Version = "26.7.3-stable.1"

// FetchHint tells a user how to get the library.
const FetchHint = "bash scripts/ensure-chdb.sh (fetches @chdb/lib-linux-x64-gnu@" + Version + " from the npm registry once)"

// LibPath is where the library is looked for: $CHDB_LIB, else the cache
// directory scripts/ensure-chdb.sh fills.
func LibPath() string {
	if p := os.Getenv("CHDB_LIB"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(dir, "usagelens", "chdb-"+Version, "libchdb.so")
}

// lib holds the C entry points; the library is loaded once per process and
// never unloaded (the engine keeps global state).
var lib struct {
	once sync.Once
	err  error

	setSignalHandlers func(enabled int32)
	connect           func(argc int32, argv unsafe.Pointer) unsafe.Pointer
	closeConn         func(conn unsafe.Pointer)
	query             func(conn unsafe.Pointer, query, format string) unsafe.Pointer
	resultBuffer      func(res unsafe.Pointer) unsafe.Pointer
	resultLength      func(res unsafe.Pointer) uintptr
	resultError       func(res unsafe.Pointer) string
	destroyResult     func(res unsafe.Pointer)
}

func load() error {
	lib.once.Do(func() {
		path := LibPath()
		if _, err := os.Stat(path); err != nil {
			lib.err = fmt.Errorf("no chDB library at %s (%w); get it with: %s", path, err, FetchHint)
			return
		}
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			lib.err = fmt.Errorf("cannot load %s: %w", path, err)
			return
		}
		purego.RegisterLibFunc(&lib.setSignalHandlers, h, "chdb_set_signal_handlers_enabled")
		purego.RegisterLibFunc(&lib.connect, h, "chdb_connect")
		purego.RegisterLibFunc(&lib.closeConn, h, "chdb_close_conn")
		purego.RegisterLibFunc(&lib.query, h, "chdb_query")
		purego.RegisterLibFunc(&lib.resultBuffer, h, "chdb_result_buffer")
		purego.RegisterLibFunc(&lib.resultLength, h, "chdb_result_length")
		purego.RegisterLibFunc(&lib.resultError, h, "chdb_result_error")
		purego.RegisterLibFunc(&lib.destroyResult, h, "chdb_destroy_query_result")
		// The Go runtime owns SIGSEGV, SIGPROF and SIGURG; the engine's own
		// handlers would take them from it.
		lib.setSignalHandlers(0)
	})
	return lib.err
}

// Session is one chDB connection with its own data directory. The engine
// allows one storage path per process, so a process opens one Session.
type Session struct {
	mu   sync.Mutex
	conn unsafe.Pointer // chdb_connection *
}

// Open starts the engine with its data under dir.
func Open(dir string) (*Session, error) {
	if err := load(); err != nil {
		return nil, err
	}
	args := []string{"clickhouse", "--path=" + dir}
	cargs := make([]*byte, len(args)+1)
	keep := make([][]byte, len(args))
	for i, a := range args {
		keep[i] = append([]byte(a), 0)
		cargs[i] = &keep[i][0]
	}
	conn := lib.connect(int32(len(args)), unsafe.Pointer(&cargs[0]))
	if conn == nil {
		return nil, fmt.Errorf("chdb_connect with --path=%s failed", dir)
	}
	return &Session{conn: conn}, nil
}

// Query runs one statement and returns its output in format (any
// ClickHouse output format name), or the engine's error message.
func (s *Session) Query(sql, format string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil, errors.New("chdb session is closed")
	}
	res := lib.query(*(*unsafe.Pointer)(s.conn), sql, format)
	if res == nil {
		return nil, errors.New("chdb_query returned no result")
	}
	defer lib.destroyResult(res)
	if msg := lib.resultError(res); msg != "" {
		return nil, errors.New(msg)
	}
	n := lib.resultLength(res)
	if n == 0 {
		return nil, nil
	}
	return append([]byte(nil), unsafe.Slice((*byte)(lib.resultBuffer(res)), n)...), nil
}

// Close shuts the connection down.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		lib.closeConn(s.conn)
		s.conn = nil
	}
}
