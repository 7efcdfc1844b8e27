package dataset_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chserver"
	"github.com/usagelens/usagelens/dataset"
)

// A re-load's partition swap survives the server being killed right
// after it: on 18.16 the replaced parts stay on disk a while as inactive
// and came back active after a restart, doubling the rows.
func TestReloadSurvivesAKill(t *testing.T) {
	ctx := context.Background()
	srv, err := chserver.Start(ctx, filepath.Join(t.TempDir(), "ch"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	conn, err := chschema.Connect(ctx, srv.DSN(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chschema.Migrate(ctx, conn); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleTiny, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	var first uint64
	for range 2 { // the second load replaces every month of the first
		st, err := dataset.Load(ctx, conn, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		first = uint64(st.UsageRows)
	}
	conn.Close()
	srv.Kill()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err = chschema.Connect(ctx, srv.DSN(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM app_usage_reports").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != first {
		t.Errorf("after a kill and a restart the usage table holds %d rows, the load wrote %d", n, first)
	}
}
