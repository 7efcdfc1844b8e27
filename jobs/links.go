package jobs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/google/uuid"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/exports"
	"github.com/usagelens/usagelens/exportstore"
)

// A download link's token: a version byte, the client and job ids, the
// expiry in Unix seconds, and an HMAC-SHA256 over all of them, in
// base64url. It needs no bearer token: it is the permission.
const (
	linkVersion = 1
	linkBody    = 1 + 16 + 16 + 8
	linkSize    = linkBody + sha256.Size
)

func (m *Manager) sign(client, job uuid.UUID, expires time.Time) string {
	b := make([]byte, linkBody, linkSize)
	b[0] = linkVersion
	copy(b[1:], client[:])
	copy(b[17:], job[:])
	binary.BigEndian.PutUint64(b[33:], uint64(expires.Unix()))
	mac := hmac.New(sha256.New, m.LinkKey)
	mac.Write(b)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(b))
}

// Download is a file a link opened.
type Download struct {
	exportstore.File
	Name, SHA256, ContentType string
}

// Open checks a link and opens its file: 403 when it is not one this
// service signed, 410 once it expired or the file is gone.
func (m *Manager) Open(ctx context.Context, token string, now time.Time) (*Download, error) {
	forbidden := errs.New(errs.Forbidden, "the download link is not valid: use download_url from the export job unchanged")
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != linkSize || b[0] != linkVersion {
		return nil, forbidden
	}
	mac := hmac.New(sha256.New, m.LinkKey)
	mac.Write(b[:linkBody])
	if !hmac.Equal(mac.Sum(nil), b[linkBody:]) {
		return nil, forbidden
	}
	client, job := uuid.UUID(b[1:17]), uuid.UUID(b[17:33])
	expires := time.Unix(int64(binary.BigEndian.Uint64(b[33:])), 0).UTC()
	if !now.Before(expires) {
		return nil, &errs.Error{Kind: errs.Gone, Message: "the download link expired at " + expires.Format(time.RFC3339) + "; submit the export again",
			Details: map[string]any{"expired_at": expires.Format(time.RFC3339)}}
	}
	gone := &errs.Error{Kind: errs.Gone, Message: "the export's file is no longer available; submit the export again", Details: map[string]any{"export_id": job.String()}}
	rec, err := m.Store.Job(ctx, client.String(), job.String())
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.Status != api.JobSucceeded {
		return nil, gone
	}
	f, err := m.Files.Open(rec.FileKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, gone
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open export file %s: %w", rec.FileKey, err)
	}
	return &Download{File: f, Name: rec.FileName, SHA256: rec.SHA256, ContentType: exports.ContentTypeOf(rec.FileName)}, nil
}

// DeriveLinkKey is the link key of a deployment that configures none: an
// HMAC of the token key, which every instance already shares, so links
// verify on all of them without the token key itself signing them.
func DeriveLinkKey(tokenKey []byte) []byte {
	mac := hmac.New(sha256.New, tokenKey)
	mac.Write([]byte("usagelens export download links"))
	return mac.Sum(nil)
}
