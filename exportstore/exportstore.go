// Package exportstore keeps the files of export jobs. Files is the one
// interface the jobs use, so an object store (S3-compatible) can stand
// beside Dir, the directory on disk every instance shares.
package exportstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Files is where export files live. A key is a slash-separated relative
// name; nothing is visible under it until its Writer commits.
type Files interface {
	// Create starts a file to be stored under key.
	Create(key string) (Writer, error)
	// Open reads the file stored under key; fs.ErrNotExist when there is none.
	Open(key string) (File, error)
	// Remove deletes the file under key; a missing file is not an error.
	Remove(key string) error
	// Used is the bytes the committed files hold.
	Used() int64
	// RemoveOlder deletes the files committed before t and reports how many.
	RemoveOlder(t time.Time) (int, error)
}

// Writer is a file being written.
type Writer interface {
	io.Writer
	// Commit makes the file visible under its key, whole.
	Commit() error
	// Abort drops what was written.
	Abort()
}

// File is a stored file, read by ranges.
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Dir keeps files under a directory: each written to a temporary name in
// its .tmp folder, synced, and renamed into place when complete, so a
// partial file is never under a key.
type Dir struct {
	root string
	used atomic.Int64
}

const tmpDir = ".tmp"

// OpenDir uses root, creating it, dropping temporary files a stopped
// process left, and counting what the committed files hold.
func OpenDir(root string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(root, tmpDir), 0o750); err != nil {
		return nil, fmt.Errorf("cannot create the export directory %s: %w", root, err)
	}
	d := &Dir{root: root}
	tmps, err := os.ReadDir(filepath.Join(root, tmpDir))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", filepath.Join(root, tmpDir), err)
	}
	for _, e := range tmps {
		_ = os.Remove(filepath.Join(root, tmpDir, e.Name()))
	}
	err = d.walk(func(_ string, info fs.FileInfo) error {
		d.used.Add(info.Size())
		return nil
	})
	return d, err
}

// Root is the directory.
func (d *Dir) Root() string { return d.root }

func (d *Dir) path(key string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(key))
	if key == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || strings.HasPrefix(clean, tmpDir) {
		return "", fmt.Errorf("export file key %q is not a relative name inside the store", key)
	}
	return filepath.Join(d.root, clean), nil
}

// Create starts a file under key.
func (d *Dir) Create(key string) (Writer, error) {
	final, err := d.path(key)
	if err != nil {
		return nil, err
	}
	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix)
	tmp := filepath.Join(d.root, tmpDir, hex.EncodeToString(suffix))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("cannot create an export file in %s: %w", d.root, err)
	}
	return &dirWriter{d: d, f: f, final: final}, nil
}

type dirWriter struct {
	d     *Dir
	f     *os.File
	final string
	n     int64
	done  bool
}

func (w *dirWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *dirWriter) Commit() error {
	if w.done {
		return errors.New("export file already committed or aborted")
	}
	w.done = true
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.MkdirAll(filepath.Dir(w.final), 0o750)
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.final)
	}
	if err != nil {
		_ = os.Remove(w.f.Name())
		return fmt.Errorf("cannot store export file %s: %w", w.final, err)
	}
	w.d.used.Add(w.n)
	return nil
}

func (w *dirWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}

// Open reads the file under key.
func (d *Dir) Open(key string) (File, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &dirFile{File: f, size: info.Size()}, nil
}

type dirFile struct {
	*os.File
	size int64
}

func (f *dirFile) Size() int64 { return f.size }

// Remove deletes the file under key.
func (d *Dir) Remove(key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile, and counted by whoever did
		}
		return err
	}
	d.used.Add(-info.Size())
	return nil
}

// Used is the bytes the committed files hold, as this process counts them
// (files another instance writes into a shared directory are counted at
// the next start).
func (d *Dir) Used() int64 { return d.used.Load() }

// RemoveOlder deletes committed files last modified before t.
func (d *Dir) RemoveOlder(t time.Time) (int, error) {
	n := 0
	err := d.walk(func(p string, info fs.FileInfo) error {
		if info.ModTime().Before(t) {
			if err := os.Remove(p); err == nil {
				d.used.Add(-info.Size())
				n++
			}
		}
		return nil
	})
	return n, err
}

// walk visits the committed files.
func (d *Dir) walk(visit func(string, fs.FileInfo) error) error {
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if e.Name() == tmpDir {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		return visit(p, info)
	})
}
