package exportstore_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/usagelens/usagelens/exportstore"
)

func write(t *testing.T, d *exportstore.Dir, key, body string) exportstore.Writer {
	t.Helper()
	w, err := d.Create(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	return w
}

func read(t *testing.T, d *exportstore.Dir, key string) (string, error) {
	t.Helper()
	f, err := d.Open(key)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	return string(b), err
}

// A file is under its key only once committed, whole; an aborted one
// leaves nothing; Used counts committed bytes.
func TestCommitAndAbort(t *testing.T) {
	root := t.TempDir()
	d, err := exportstore.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	w := write(t, d, "c1/job-a.csv", "a,b\r\n1,2\r\n")
	if _, err := read(t, d, "c1/job-a.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file being written is readable under its key: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, err := read(t, d, "c1/job-a.csv"); err != nil || got != "a,b\r\n1,2\r\n" {
		t.Errorf("committed file: %q, %v", got, err)
	}
	if d.Used() != 10 {
		t.Errorf("Used %d, want 10", d.Used())
	}
	write(t, d, "c1/job-b.csv", "partial").Abort()
	if _, err := read(t, d, "c1/job-b.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an aborted file is readable: %v", err)
	}
	if tmps, _ := os.ReadDir(filepath.Join(root, ".tmp")); len(tmps) != 0 || d.Used() != 10 {
		t.Errorf("after an abort: %d temporary files, Used %d", len(tmps), d.Used())
	}
	if err := d.Remove("c1/job-a.csv"); err != nil || d.Used() != 0 {
		t.Errorf("Remove: %v, Used %d", err, d.Used())
	}
	if err := d.Remove("c1/job-a.csv"); err != nil {
		t.Errorf("removing a missing file: %v", err)
	}
}

// A start drops what a stopped process left half written and counts the
// committed files.
func TestOpenDirAfterAStop(t *testing.T) {
	root := t.TempDir()
	d, _ := exportstore.OpenDir(root)
	if err := write(t, d, "c1/whole.csv", "12345").Commit(); err != nil {
		t.Fatal(err)
	}
	write(t, d, "c1/cut.csv", "half") // never committed: the process stopped
	again, err := exportstore.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if tmps, _ := os.ReadDir(filepath.Join(root, ".tmp")); len(tmps) != 0 {
		t.Errorf("%d temporary files left after a start", len(tmps))
	}
	if again.Used() != 5 {
		t.Errorf("Used %d after a start, want 5", again.Used())
	}
}

// Keys stay inside the store.
func TestKeysStayInside(t *testing.T) {
	d, _ := exportstore.OpenDir(t.TempDir())
	for _, key := range []string{"", "../escape.csv", "a/../../escape.csv", "/etc/passwd", ".tmp/x", ".."} {
		if _, err := d.Create(key); err == nil {
			t.Errorf("Create(%q) was allowed", key)
		}
		if _, err := d.Open(key); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q): %v, want a refusal", key, err)
		}
	}
}

// RemoveOlder removes the files written before a time, and only those.
func TestRemoveOlder(t *testing.T) {
	root := t.TempDir()
	d, _ := exportstore.OpenDir(root)
	for _, key := range []string{"c1/old.csv", "c2/new.csv"} {
		if err := write(t, d, key, "abc").Commit(); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(root, "c1", "old.csv"), old, old); err != nil {
		t.Fatal(err)
	}
	n, err := d.RemoveOlder(time.Now().Add(-24 * time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("RemoveOlder: %d, %v; want 1", n, err)
	}
	if _, err := read(t, d, "c1/old.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old file is still there: %v", err)
	}
	if got, err := read(t, d, "c2/new.csv"); err != nil || got != "abc" || d.Used() != 3 {
		t.Errorf("the new file: %q, %v, Used %d", got, err, d.Used())
	}
}
