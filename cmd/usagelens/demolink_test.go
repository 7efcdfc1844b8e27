package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/usagelens/usagelens/store"
)

// The demo's text opens with the App Metrics page's sign-in link: the
// token in the fragment (never sent to the server), the client, and the
// last day of the demo's data.
func TestDemoTextLinksThePage(t *testing.T) {
	const client, tok = "3bf98798-cae9-4950-8a8c-6d7f8d485abc", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	out := demoText(client, tok, serveConfig{listen: ":8080"}, store.DemoIDs{})
	var link string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "/ui/") {
			link = line
			break
		}
	}
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "http" || u.Host != "127.0.0.1:8080" || u.Path != "/ui/" || u.RawQuery != "" {
		t.Fatalf("no page link in the demo text (%v): %q\n%s", err, link, out)
	}
	f, err := url.ParseQuery(u.Fragment)
	if err != nil || f.Get("token") != tok || f.Get("client") != client || f.Get("as_of") != "2026-10-31" {
		t.Errorf("the link's fragment %q (%v)", u.Fragment, err)
	}
	if i, j := strings.Index(out, "/ui/"), strings.Index(out, "export TOKEN="); i < 0 || j < i {
		t.Errorf("the link does not come before the shell lines:\n%s", out)
	}
}
