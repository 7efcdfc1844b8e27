package docs

import "testing"

func TestOpenAPIIsValid(t *testing.T) {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	for _, p := range []string{"/v2/clients/{client_id}/analytics/apps/utilization", "/v2/clients/{client_id}/analytics/apps/utilization/export",
		"/v2/clients/{client_id}/analytics/usage-reports/export",
		"/v2/clients/{client_id}/exports", "/v2/clients/{client_id}/exports/{export_id}", "/v2/exports/download/{token}", "/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("no path %s", p)
		}
	}
}
